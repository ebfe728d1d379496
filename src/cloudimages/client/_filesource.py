"""A file on disk as a segment source: workers read their own ranges, digests read it once.

Upload workers read each segment's range themselves (``_bodies.RangeBody``), so
nothing holds a whole segment. The whole-file md5 and sha256 need the bytes in
order, so each has a thread that reads the file sequentially, one leased buffer at
a time. The two sides are kept close together, so that a file bigger than the page
cache is read from disk once: the digest pass may run at most one segment ahead of
the segments handed out, and a segment is handed out only while the digest pass is
at most ``ahead`` segments behind it.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections.abc import Iterator
from types import TracebackType

from ..errors import ChecksumMismatch
from ._bodies import Hasher, LocalReadError, read_at
from ._budget import BufferPool
from ._hashing import Digests
from ._sources import Segment


class FileSegments:
    """The segments of an open file, and its digests from one sequential pass."""

    def __init__(
        self,
        fd: int,
        size: int,
        segment_size: int,
        *,
        ahead: int,
        buffers: BufferPool,
        content_md5: bool = True,
    ) -> None:
        self._fd, self._size, self._segment_size = fd, size, segment_size
        self._ahead = max(1, ahead)
        self._buffers = buffers
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False) if content_md5 else None
        passes: list[tuple[Hasher, str]] = [(self._sha256, "sha256-pass")]
        if self._md5 is not None:
            passes.append((self._md5, "md5-pass"))
        self._ready = threading.Condition()
        self._allowed = 0  # the digest pass may hash bytes below this offset
        self._hashed = [0] * len(passes)  # bytes each digest thread has hashed
        self._error: BaseException | None = None
        self._stopped = False
        self._threads = [
            threading.Thread(target=self._pass, args=(i, h), name=name, daemon=True)
            for i, (h, name) in enumerate(passes)
        ]
        for thread in self._threads:
            thread.start()

    def segments(self) -> Iterator[Segment]:
        count = math.ceil(self._size / self._segment_size)
        for index in range(count):
            offset = index * self._segment_size
            self._wait_hashed(offset - self._ahead * self._segment_size)
            self._allow(offset + 2 * self._segment_size)
            length = min(self._segment_size, self._size - offset)
            yield Segment(index, self._fd, offset, length)

    def release(self, segment: Segment) -> None:
        return None  # the file stays; nothing to drop

    def finish(self) -> Digests:
        self._allow(self._size)
        self._wait_hashed(self._size)
        now = os.fstat(self._fd).st_size
        if now != self._size:
            msg = (
                f"the file was {self._size} bytes when the upload started and is {now} now;"
                " it changed during the upload. Upload it again."
            )
            raise ChecksumMismatch(msg, expected=str(self._size), actual=str(now))
        md5 = self._md5.hexdigest() if self._md5 is not None else ""
        return Digests(self._size, md5, self._sha256.hexdigest())

    def close(self) -> None:
        """Stop the digest pass (when the upload ends early) and wait for its threads."""
        with self._ready:
            self._stopped = True
            self._ready.notify_all()
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> FileSegments:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # the digest pass ------------------------------------------------------------------
    def _allow(self, offset: int) -> None:
        with self._ready:
            self._allowed = max(self._allowed, min(offset, self._size))
            self._ready.notify_all()

    def _wait_hashed(self, offset: int) -> None:
        with self._ready:
            while min(self._hashed) < offset and self._error is None:
                self._ready.wait()
            if self._error is not None:
                raise self._error

    def _pass(self, which: int, hasher: Hasher) -> None:
        try:
            self._hash_in_order(which, hasher)
        except LocalReadError as error:
            self._fail(error.error)
        except BaseException as error:  # handed to the uploading thread
            self._fail(error)

    def _hash_in_order(self, which: int, hasher: Hasher) -> None:
        position = 0
        while position < self._size:
            limit = self._next_limit(position)
            if limit is None:
                return
            while position < limit:
                with self._buffers.lease() as buffer:
                    end = min(limit, position + len(buffer))
                    hasher.update(read_at(self._fd, buffer[: end - position], position))
                position = end
                if position % self._segment_size == 0 or position == self._size:
                    self._record(which, position)  # only waits on whole segments

    def _next_limit(self, position: int) -> int | None:
        """Wait until the pass may hash beyond ``position``; None once stopped."""
        with self._ready:
            while self._allowed <= position and not self._stopped:
                self._ready.wait()
            return None if self._stopped else self._allowed

    def _record(self, which: int, position: int) -> None:
        with self._ready:
            self._hashed[which] = position
            self._ready.notify_all()

    def _fail(self, error: BaseException) -> None:
        with self._ready:
            self._error = self._error or error
            self._ready.notify_all()
