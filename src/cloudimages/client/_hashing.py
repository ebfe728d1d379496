"""Whole-content md5 and sha256 in one ordered pass, hashed off the reading thread.

``hashlib`` releases the GIL on buffers larger than 2 KiB, so feeding each digest
from its own single-thread executor lets md5, sha256, the reader and the uploads
all run at once while every digest still sees the bytes in order.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any

MD5_HEX_LENGTH = 32


def md5_hex(data: bytes) -> str:
    """The md5 of ``data`` as Swift writes ETags (lower-case hex)."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def is_plain_md5(etag: str) -> bool:
    """True when an ETag is an unquoted md5 (a plain object), not a manifest's etag-of-etags."""
    return len(etag) == MD5_HEX_LENGTH and not etag.startswith('"')


def slo_etag(segment_etags: Sequence[str]) -> str:
    """The ETag Swift gives an SLO: md5 of its segments' md5 strings, concatenated."""
    return md5_hex("".join(segment_etags).encode())


@dataclass(frozen=True)
class Digests:
    """Size and hashes of some content."""

    size: int
    md5: str
    sha256: str


class ContentDigests:
    """md5 + sha256 of bytes fed in order; ``feed`` blocks once ``window`` chunks wait.

    Use as a context manager so the two hashing threads always stop.
    """

    def __init__(self, *, window: int = 4) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self._md5_thread = ThreadPoolExecutor(1, thread_name_prefix="md5")
        self._sha_thread = ThreadPoolExecutor(1, thread_name_prefix="sha256")
        self._pending: deque[Future[Any]] = deque()
        self._window = max(1, window)
        self.size = 0

    def feed(self, data: bytes) -> tuple[Future[Any], Future[Any]]:
        """Queue ``data`` for both digests; the futures are done when each has hashed it."""
        while len(self._pending) >= 2 * self._window:
            self._pending.popleft().result()
        self.size += len(data)
        jobs = (
            self._md5_thread.submit(self._md5.update, data),
            self._sha_thread.submit(self._sha256.update, data),
        )
        self._pending.extend(jobs)
        return jobs

    def finish(self) -> Digests:
        """Wait for every queued chunk and return the hashes."""
        while self._pending:
            self._pending.popleft().result()
        return Digests(self.size, self._md5.hexdigest(), self._sha256.hexdigest())

    def close(self) -> None:
        """Stop the hashing threads (pending work is dropped)."""
        self._md5_thread.shutdown(wait=True, cancel_futures=True)
        self._sha_thread.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ContentDigests:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class SegmentChecker:
    """Checks a stream against an SLO manifest: each span must hash to its segment's md5.

    Swift gives an SLO no content md5, but its manifest lists every segment's size
    and md5, which is as strong once every span is checked.
    """

    def __init__(self, segments: Sequence[tuple[int, str]]) -> None:
        self._segments = list(segments)
        self._index = 0
        self._left = self._segments[0][0] if self._segments else 0
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.mismatches: list[tuple[int, str, str]] = []  # (index, expected, actual)

    def feed(self, data: bytes) -> None:
        """Hash ``data`` into the current segment(s), closing each one as it fills."""
        view = memoryview(data)
        while view:
            if self._index >= len(self._segments):
                self.mismatches.append((self._index, "<end of manifest>", "extra bytes"))
                return
            take = min(self._left, len(view))
            self._md5.update(view[:take])
            view, self._left = view[take:], self._left - take
            if self._left == 0:
                self._close_segment()

    def _close_segment(self) -> None:
        expected = self._segments[self._index][1]
        actual = self._md5.hexdigest()
        if actual != expected:
            self.mismatches.append((self._index, expected, actual))
        self._index += 1
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._left = self._segments[self._index][0] if self._index < len(self._segments) else 0
        if self._left == 0 and self._index < len(self._segments):
            self._close_segment()  # a zero-byte segment closes at once

    @property
    def complete(self) -> bool:
        """True when every segment was seen whole and hashed to its manifest md5."""
        return self._index == len(self._segments) and not self.mismatches
