"""Streams for uploads to spool: an http(s) URL streamed with httpx, or a binary file object.

httpx failures are mapped by ``_http.transport_error``, the client's one httpx seam.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import httpx

from ..errors import ApiError, BadRequest, Forbidden, NotFound, ServiceUnavailable
from ._http import transport_error
from ._spool import Opened

_DOWNLOAD_CHUNK = 1024 * 1024


def reader_chunks(reader: BinaryIO, chunk_size: int) -> Iterator[bytes]:
    """A binary file's content in chunks of up to ``chunk_size`` bytes, in order."""
    while chunk := reader.read(chunk_size):
        yield chunk


@contextmanager
def open_reader(reader: BinaryIO, *, size: int | None, chunk_size: int) -> Iterator[Opened]:
    """A binary file object as a stream to spool (read from the spool's thread)."""
    yield Opened(reader_chunks(reader, chunk_size), size)


@contextmanager
def open_url(url: str, *, timeout: float, size: int | None = None) -> Iterator[Opened]:
    """Stream ``url``; the size is the one given, else the server's Content-Length."""
    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
            raise_for_status(response, url)
            length = response.headers.get("content-length")
            found = int(length) if length and "content-encoding" not in response.headers else None
            yield Opened(_chunks(response, url), size or found)
    except httpx.HTTPError as exc:
        raise transport_error(exc, "GET", url) from exc


def _chunks(response: httpx.Response, url: str) -> Iterator[bytes]:
    try:
        yield from response.iter_raw(_DOWNLOAD_CHUNK)
    except httpx.HTTPError as exc:
        raise transport_error(exc, "GET", url) from exc


def raise_for_status(response: httpx.Response, url: str) -> None:
    status = response.status_code
    if status < 400:
        return
    msg = f"download of {url} failed: {status} {response.reason_phrase}. Check the URL."
    kind: type[ApiError] = {400: BadRequest, 403: Forbidden, 404: NotFound}.get(status, ApiError)
    if status >= 500:
        kind = ServiceUnavailable
    raise kind(msg, status_code=status, method="GET", url=url)
