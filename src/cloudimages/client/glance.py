"""Upstream Glance v2's data calls: create a record, upload, stage, import, download.

Rackspace hides these behind tasks; a private cloud's Glance serves them directly.
Bytes are streamed from and to files in chunks, hashed (md5, sha256, and the
``os_hash_algo`` Glance reports, sha512 by default) in the same pass that moves
them, and checked against what Glance recorded. Each upload is one request that
cannot be replayed from the middle: it is retried whole (the retry policy's
"one stream" place), after Glance put the record back to ``queued``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from ..errors import ChecksumMismatch, CloudImagesError
from ._http import api_error, json_of, read, transport_error
from ._session import TokenSession
from .models import Image
from .retry import retrying

__all__ = ["GlanceData", "Hashes"]

CHUNK = 1024 * 1024
Progress = Callable[[int, int | None], None]


@dataclass
class Hashes:
    """Digests of bytes seen once, in order."""

    md5: Any = field(default_factory=lambda: hashlib.md5(usedforsecurity=False))
    sha256: Any = field(default_factory=hashlib.sha256)
    sha512: Any = field(default_factory=hashlib.sha512)
    size: int = 0

    def feed(self, chunk: bytes) -> None:
        self.md5.update(chunk)
        self.sha256.update(chunk)
        self.sha512.update(chunk)
        self.size += len(chunk)

    def check(self, image: Image, what: str) -> None:
        """``ChecksumMismatch`` unless Glance recorded these bytes (size, md5, os_hash)."""
        recorded = image.model_extra or {}
        pairs = [
            ("size", str(image.size), str(self.size)),
            ("md5", image.checksum, self.md5.hexdigest()),
        ]
        if recorded.get("os_hash_algo") == "sha512":
            pairs.append(("sha512", recorded.get("os_hash_value"), self.sha512.hexdigest()))
        for name, theirs, ours in pairs:
            if theirs is not None and theirs not in ("None", ours):
                msg = (
                    f"{what}: Glance recorded {name} {theirs} for image {image.id}, but the bytes"
                    f" sent hash to {ours}; upload it again"
                )
                raise ChecksumMismatch(msg, expected=str(theirs), actual=ours)


class GlanceData:
    """The data side of one Glance v2 endpoint, over an authenticated session."""

    def __init__(self, session: TokenSession, base_url: str) -> None:
        self.session = session
        self.base = base_url.rstrip("/")

    def _url(self, path: str) -> str:
        return f"{self.base}{path}"

    def _image(self, image_id: str, rest: str = "") -> str:
        return self._url(f"/images/{quote(image_id, safe='')}{rest}")

    def import_methods(self) -> list[str]:
        """The import methods this Glance enables (``GET /v2/info/import``)."""
        doc = json_of(self.session.request("GET", self._url("/info/import")))
        value = (doc.get("import-methods") or {}).get("value") or []
        return [str(method) for method in value]

    def storage_usage(self) -> tuple[int, int | None]:
        """Bytes of image storage the project uses, and its quota (None: none published)."""
        try:
            doc = json_of(self.session.request("GET", self._url("/info/usage")))
        except CloudImagesError:  # an older Glance, or a policy that hides it
            return 0, None
        total = (doc.get("usage") or {}).get("image_size_total") or {}
        limit = total.get("limit")
        return int(total.get("usage") or 0), int(limit) if isinstance(limit, int) else None

    def disk_formats(self) -> list[str]:
        """The disk formats the image schema allows."""
        doc = json_of(self.session.request("GET", self._url("/schemas/image")))
        enum = ((doc.get("properties") or {}).get("disk_format") or {}).get("enum") or []
        return [str(f) for f in enum if f]

    def create(
        self,
        *,
        name: str,
        disk_format: str,
        properties: dict[str, str],
        container_format: str = "bare",
    ) -> Image:
        """A new ``queued`` record (POST is not replayed; callers look for it by property)."""
        body: dict[str, Any] = {
            "name": name,
            "disk_format": disk_format,
            "container_format": container_format,
            **properties,
        }
        return read(
            self.session.request("POST", self._url("/images"), json=body, retry=False), Image
        )

    def upload(
        self, image_id: str, path: Path, *, stage: bool = False, progress: Progress | None = None
    ) -> Hashes:
        """``PUT /file`` (or ``/stage``) the file, hashing it; retried whole when cut short."""
        where = "/stage" if stage else "/file"
        for trying in retrying(self.session.retry, f"upload of {path.name} to image {image_id}"):
            with trying:
                hashes = Hashes()
                size = os.path.getsize(path)
                self.session.request(
                    "PUT",
                    self._image(image_id, where),
                    content=_read(path, hashes, size, progress),
                    headers={
                        "Content-Type": "application/octet-stream",
                        "Content-Length": str(size),
                    },
                    retry=False,
                )
                return hashes
        raise AssertionError("unreachable: retrying() returns or raises")  # pragma: no cover

    def upload_stream(
        self, image_id: str, chunks: Iterator[bytes], size: int | None, *, progress: Progress | None
    ) -> Hashes:
        """``PUT /file`` from a stream read once (the caller retries the whole stream)."""
        hashes = Hashes()
        headers = {"Content-Type": "application/octet-stream"}
        if size is not None:
            headers["Content-Length"] = str(size)
        self.session.request(
            "PUT",
            self._image(image_id, "/file"),
            content=_pass(chunks, hashes, size, progress),
            headers=headers,
            retry=False,
        )
        return hashes

    def start_import(self, image_id: str, method: str, *, uri: str | None = None) -> None:
        """``POST /import`` with ``glance-direct`` or ``web-download`` (202: it runs on)."""
        body: dict[str, Any] = {"method": {"name": method}}
        if uri is not None:
            body["method"]["uri"] = uri
        self.session.request("POST", self._image(image_id, "/import"), json=body, retry=False)

    def tasks(self, image_id: str) -> list[dict[str, Any]]:
        """The import tasks Glance recorded for an image (newest last), for failure messages."""
        doc = json_of(self.session.request("GET", self._image(image_id, "/tasks")))
        found = doc.get("tasks") or []
        return [t for t in found if isinstance(t, dict)]

    @contextmanager
    def download(self, image_id: str) -> Iterator[tuple[int | None, Iterator[bytes]]]:
        """``GET /file`` as a stream: (size, chunks); the caller retries the whole stream."""
        url = self._image(image_id, "/file")
        response = self._open(url)
        try:
            length = response.headers.get("content-length")
            size = int(length) if length and length.isdigit() else None
            yield size, _translated(response.iter_bytes(CHUNK), url)
        finally:
            response.close()

    def _open(self, url: str) -> httpx.Response:
        """A streamed GET, logging in again once on 401; our error for anything else."""
        token = self.session.token()
        for attempt in (1, 2):
            request = self.session.http.build_request("GET", url, headers={"X-Auth-Token": token})
            try:
                response = self.session.http.send(request, stream=True)
            except httpx.HTTPError as error:
                raise transport_error(error, "GET", url) from error
            if response.status_code == 401 and attempt == 1:
                response.close()
                token = self.session.reauthenticate(token)
                continue
            if response.is_error:
                response.read()
                response.close()
                raise api_error(response)
            return response
        raise AssertionError("unreachable")  # pragma: no cover


def _translated(chunks: Iterator[bytes], url: str) -> Iterator[bytes]:
    try:
        yield from chunks
    except httpx.HTTPError as error:
        raise transport_error(error, "GET", url) from error


def _read(path: Path, hashes: Hashes, size: int, progress: Progress | None) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            hashes.feed(chunk)
            if progress is not None:
                progress(hashes.size, size)
            yield chunk


def _pass(
    chunks: Iterator[bytes], hashes: Hashes, size: int | None, progress: Progress | None
) -> Iterator[bytes]:
    for chunk in chunks:
        hashes.feed(chunk)
        if progress is not None:
            progress(hashes.size, size)
        yield chunk
