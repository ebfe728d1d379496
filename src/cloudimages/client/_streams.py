"""Byte sources for uploads: an http(s) URL streamed with httpx, or chunks as a file.

httpx failures are mapped by ``_http.transport_error``, the client's one httpx seam.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO, cast

import httpx

from ..errors import ApiError, BadRequest, Forbidden, NotFound, ServiceUnavailable
from ._http import transport_error

_DOWNLOAD_CHUNK = 1024 * 1024


class IterReader:
    """A read-only binary file over an iterator of byte chunks (``read(n)`` as files do)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._leftover = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            parts, self._leftover = [self._leftover, *self._chunks], b""
            return b"".join(parts)
        parts, got = [], 0
        while got < size:
            piece = self._leftover or next(self._chunks, b"")
            self._leftover = b""
            if not piece:
                break
            if len(piece) > size - got:
                piece, self._leftover = piece[: size - got], piece[size - got :]
            parts.append(piece)
            got += len(piece)
        return parts[0] if len(parts) == 1 else b"".join(parts)


def as_binary(reader: IterReader) -> BinaryIO:
    """The reader typed as a file: it implements the part of ``BinaryIO`` uploads use."""
    return cast(BinaryIO, reader)


@contextmanager
def open_url(url: str, *, timeout: float) -> Iterator[tuple[BinaryIO, int | None]]:
    """Stream ``url``: yields a file-like reader and the size when the server sent one."""
    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
            raise_for_status(response, url)
            length = response.headers.get("content-length")
            size = int(length) if length and "content-encoding" not in response.headers else None
            yield as_binary(IterReader(_chunks(response, url))), size
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
