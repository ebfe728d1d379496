"""Whole-content md5 and sha256 in one ordered pass, hashed off the reading thread.

``hashlib`` releases the GIL on buffers larger than 2 KiB, so feeding each digest
from its own single-thread executor lets md5, sha256, the reader and the uploads
all run at once while every digest still sees the bytes in order. ``ContentDigests``
serves downloads; ``StreamHashes`` a spooled stream (plus the md5 of each segment);
``SegmentChecker`` checks a stream against an SLO manifest.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from ._budget import BufferPool

MD5_HEX_LENGTH = 32
#: Chunks of a stream that may wait for their hashes at once.
HASH_WINDOW = 4


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
    md5: str  # "" when it was not asked for (UploadOptions.content_md5)
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


class StreamHashes:
    """md5 and sha256 of the whole stream and md5 of each segment, each on its own thread.

    ``hashlib`` releases the GIL on big buffers, so the three run beside the reader;
    each chunk holds a slot of the transfer budget until all three have hashed it.
    """

    def __init__(self, buffers: BufferPool) -> None:
        self._buffers = buffers
        self._md5, self._sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
        self._segment_md5 = hashlib.md5(usedforsecurity=False)
        self._lanes = [ThreadPoolExecutor(1, thread_name_prefix=n) for n in ("md5", "sha", "seg")]
        self._pending: deque[list[Future[Any]]] = deque()
        self._size = 0

    def whole(self, chunk: bytes) -> memoryview:
        """Queue ``chunk`` for the whole-content digests; its view, to cut into segments."""
        while len(self._pending) >= HASH_WINDOW:
            self._settle(self._pending.popleft())
        while not self._buffers.try_take_slot():  # never wait on slots this thread holds
            if not self._pending:
                self._buffers.take_slot()
                break
            self._settle(self._pending.popleft())
        self._size += len(chunk)
        md5, sha, _ = self._lanes
        jobs = [md5.submit(self._md5.update, chunk), sha.submit(self._sha256.update, chunk)]
        self._pending.append(jobs)
        return memoryview(chunk)

    def segment(self, piece: memoryview) -> None:
        self._pending[-1].append(self._lanes[2].submit(self._segment_md5.update, piece))

    def close_segment(self) -> str:
        """The md5 of the segment fed so far (and start the next one)."""
        return self._lanes[2].submit(self._next_segment).result()

    def _next_segment(self) -> str:
        digest = self._segment_md5.hexdigest()
        self._segment_md5 = hashlib.md5(usedforsecurity=False)
        return digest

    def finish(self) -> Digests:
        while self._pending:
            self._settle(self._pending.popleft())
        return Digests(self._size, self._md5.hexdigest(), self._sha256.hexdigest())

    def _settle(self, futures: list[Future[Any]]) -> None:
        try:
            for future in futures:
                future.result()
        finally:
            self._buffers.give_slot()

    def __enter__(self) -> StreamHashes:
        return self

    def __exit__(self, *exc: object) -> None:
        for lane in self._lanes:
            lane.shutdown(wait=True, cancel_futures=True)
        while self._pending:  # give back the slots of chunks nobody will hash now
            self._pending.popleft()
            self._buffers.give_slot()
