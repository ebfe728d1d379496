"""Read objects back: to a file (temp file, then rename) or as a verified stream.

Integrity is checked against what Swift knows: a plain object's ETag is its md5;
an SLO's manifest lists each segment's md5, so every span of the stream is
checked; a DLO keeps no md5, so only its length is checked (or ``expected_md5``).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import ChecksumMismatch
from ._hashing import ContentDigests, Digests, SegmentChecker, is_plain_md5
from ._object_models import DownloadResult
from ._segments import Progress
from ._swift import SwiftSession, Target
from .retry import NO_RETRY, RetryPolicy, retrying

VerifiedBy = Literal["etag", "expected_md5", "segments"]


@dataclass
class SourceCheck:
    """What a stream of an object must hash to, and the check of a finished stream."""

    container: str
    name: str
    size: int
    etag: str
    expected_md5: str | None
    segments: SegmentChecker | None

    def observe(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """Pass chunks through, hashing them per SLO segment when there is a manifest."""
        for chunk in chunks:
            if self.segments is not None:
                self.segments.feed(chunk)
            yield chunk

    def check(self, digests: Digests) -> VerifiedBy | None:
        """Raise ChecksumMismatch unless the whole stream is what Swift says it is."""
        where = f"object {self.name!r} in container {self.container!r}"
        if digests.size != self.size:
            msg = f"{where} is {self.size} bytes but {digests.size} arrived; download it again"
            raise ChecksumMismatch(msg, expected=str(self.size), actual=str(digests.size))
        if self.expected_md5 is not None:
            self._compare(self.expected_md5, digests.md5, where, "the expected md5")
            return "expected_md5"
        if is_plain_md5(self.etag):
            self._compare(self.etag, digests.md5, where, "its ETag")
            return "etag"
        if self.segments is not None:
            if not self.segments.complete:
                index, expected, actual = (self.segments.mismatches or [(-1, "all", "fewer")])[0]
                msg = (
                    f"{where}: segment {index} hashes to {actual}, its manifest says "
                    f"{expected}; a segment was changed or corrupted"
                )
                raise ChecksumMismatch(msg, expected=expected, actual=actual)
            return "segments"
        return None

    @staticmethod
    def _compare(expected: str, actual: str, where: str, what: str) -> None:
        if expected.lower() != actual:
            msg = f"{where} hashes to md5 {actual}, not {what} {expected}; download it again"
            raise ChecksumMismatch(msg, expected=expected, actual=actual)


@contextmanager
def open_object(
    session: SwiftSession,
    container: str,
    name: str,
    *,
    chunk_size: int,
    expected_md5: str | None = None,
    policy: RetryPolicy | None = None,
) -> Iterator[tuple[dict[str, str], Iterator[bytes], SourceCheck]]:
    """GET an object as a stream: (headers, chunks, check to run on the finished stream).

    ``policy`` governs opening the stream (``NO_RETRY`` when the caller retries it whole).
    """
    target = Target("download of", container, name)
    opened = session.stream(
        target, lambda c: c.get_object(container, name, resp_chunk_size=chunk_size), policy=policy
    )
    with opened as (headers, chunks):
        etag = headers.get("etag", "").strip()
        slo = headers.get("x-static-large-object", "").lower() == "true"
        check = SourceCheck(
            container=container,
            name=name,
            size=int(headers.get("content-length", "0")),
            etag=etag if slo or "x-object-manifest" in headers else etag.strip('"'),
            expected_md5=expected_md5,
            segments=SegmentChecker(slo_segments(session, container, name)) if slo else None,
        )
        yield headers, check.observe(chunks), check


def slo_segments(session: SwiftSession, container: str, name: str) -> list[tuple[int, str]]:
    """(size, md5) of each segment of an SLO, from its stored manifest."""
    _, body = session.call(
        Target("manifest read of", container, name),
        lambda c: c.get_object(container, name, query_string="multipart-manifest=get"),
    )
    return [(int(seg["bytes"]), str(seg["hash"])) for seg in json.loads(body)]


def download_to(
    session: SwiftSession,
    container: str,
    name: str,
    dest: Path,
    *,
    chunk_size: int,
    expected_md5: str | None,
    progress: Progress | None,
) -> DownloadResult:
    """Download into ``dest`` (via a temp file), the whole stream retried when cut short."""
    for trying in retrying(session.policy, f"download of {container}/{name}"):
        with trying:
            return _download_once(
                session,
                container,
                name,
                dest,
                chunk_size=chunk_size,
                expected_md5=expected_md5,
                progress=progress,
            )
    raise AssertionError("unreachable: retrying() returns or raises")  # pragma: no cover


def _download_once(
    session: SwiftSession,
    container: str,
    name: str,
    dest: Path,
    *,
    chunk_size: int,
    expected_md5: str | None,
    progress: Progress | None,
) -> DownloadResult:
    """Write the object next to ``dest``, verify it, then rename it into place."""
    dest = Path(dest)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with (
            open_object(
                session,
                container,
                name,
                chunk_size=chunk_size,
                expected_md5=expected_md5,
                policy=NO_RETRY,
            ) as (headers, chunks, check),
            os.fdopen(fd, "wb") as out,
            ContentDigests() as hasher,
        ):
            for chunk in chunks:
                hasher.feed(chunk)
                out.write(chunk)
                if progress is not None:
                    progress(hasher.size, check.size)
            digests = hasher.finish()
        verified_by = check.check(digests)
        tmp.replace(dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return DownloadResult(
        container=container,
        name=name,
        path=dest,
        size=digests.size,
        md5=digests.md5,
        sha256=digests.sha256,
        etag=headers.get("etag", "").strip('"'),
        verified_by=verified_by,
    )
