"""Download an http(s) URL to a file: sha256 in the same pass, capped, resumed when cut.

A disk image given as a URL is fetched before anything else happens, so an
unattended run must not fill the disk or hang: the download is refused when
the server announces more than ``max_size`` bytes and stopped as soon as more
arrive, and a server that sends nothing for ``stall_timeout`` seconds fails the
attempt. A download cut short is resumed with a ``Range`` request when the
server allows it (else started again), for the whole stream under one retry
budget: the retry policy's "one stream" place.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from ..errors import DiskImageError
from ._http import USER_AGENT, transport_error
from ._streams import raise_for_status
from .retry import RetryPolicy, retrying

__all__ = ["Fetched", "fetch_url"]

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Fetched:
    """A downloaded file and the sha256 of its content."""

    path: Path
    size: int
    sha256: str


class _Partial:
    """What has arrived so far: the file being written and the hash of its bytes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        self.digest = hashlib.sha256()
        path.write_bytes(b"")

    def restart(self) -> None:
        self.size = 0
        self.digest = hashlib.sha256()
        self.path.write_bytes(b"")


def fetch_url(
    url: str,
    dest: Path,
    *,
    max_size: int,
    stall_timeout: float = 60.0,
    policy: RetryPolicy | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> Fetched:
    """Download ``url`` into ``dest`` (written whole or not at all) with its sha256."""
    part = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    partial = _Partial(part)
    timeout = httpx.Timeout(stall_timeout, connect=min(stall_timeout, 30.0))
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True) as http:
            for trying in retrying(policy or RetryPolicy(), f"download of {url}"):
                with trying:
                    _attempt(http, url, partial, max_size=max_size, progress=progress)
        part.replace(dest)
    finally:
        part.unlink(missing_ok=True)
    return Fetched(path=dest, size=partial.size, sha256=partial.digest.hexdigest())


def _attempt(
    http: httpx.Client,
    url: str,
    partial: _Partial,
    *,
    max_size: int,
    progress: Callable[[int, int | None], None] | None,
) -> None:
    headers = {"User-Agent": USER_AGENT}
    if partial.size:
        headers["Range"] = f"bytes={partial.size}-"
    try:
        with http.stream("GET", url, headers=headers) as response:
            raise_for_status(response, url)
            if response.status_code != 206:
                partial.restart()  # the server sent it all again (no range support)
            total = _announced_total(response, partial.size)
            _refuse_oversize(url, total, max_size)
            with partial.path.open("ab") as out:
                for chunk in response.iter_raw(_CHUNK):
                    partial.size += len(chunk)
                    _refuse_oversize(url, partial.size, max_size)
                    partial.digest.update(chunk)
                    out.write(chunk)
                    if progress is not None:
                        progress(partial.size, total)
    except httpx.HTTPError as error:
        raise transport_error(error, "GET", url) from error


def _announced_total(response: httpx.Response, already: int) -> int | None:
    length = response.headers.get("content-length")
    if not length or "content-encoding" in response.headers or not length.isdigit():
        return None
    return int(length) + (already if response.status_code == 206 else 0)


def _refuse_oversize(url: str, size: int | None, max_size: int) -> None:
    if size is not None and size > max_size:
        msg = (
            f"{url} is larger than the download limit of {max_size} bytes; nothing was kept."
            " Check the URL, or raise the limit (--max-download-gb) if the image really is"
            " that large."
        )
        raise DiskImageError(msg)
