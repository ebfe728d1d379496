"""A stream read once into a bounded window of segment files on disk, for one or more uploads.

A stream (an http(s) URL, an object copied from another region) cannot be read by
range, so one reader thread reads it in order and writes each segment into an
unnamed temporary file (gone when closed, even if the process is killed), hashing
the bytes on the way: md5 and sha256 of the whole content, and the md5 of each
segment, which uploads then send as the segment's ETag. Uploads subscribe to the
spool and read its segment files by range, like a file on disk; several uploads of
the same stream (a replicate to many accounts) share one spool, so the source is
read and hashed once however many targets there are.

At most ``window`` segment files exist at a time. A segment is dropped only when
the reader needs room and every subscriber is done with it; until the first one
is dropped, a new upload of the same stream may still subscribe and start from the
beginning. Memory holds only the chunks being hashed (counted in the transfer budget).
"""

from __future__ import annotations

import itertools
import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import partial
from types import TracebackType
from typing import IO

from ._budget import BufferPool
from ._hashing import Digests, StreamHashes
from ._segments import choose_segment_size
from ._sources import Segment


@dataclass(frozen=True)
class Opened:
    """A stream as its opener hands it over: chunks in order, and what it promises."""

    chunks: Iterator[bytes]
    size: int | None
    headers: Mapping[str, str] = field(default_factory=dict)
    check: Callable[[Digests], object] | None = None  # raises if the whole stream is wrong


Opener = Callable[[], AbstractContextManager[Opened]]


@dataclass(frozen=True)
class SpoolSettings:
    """How a spool cuts and keeps the stream."""

    segment_size: int  # as asked; grown like an upload's to keep at most 1000 segments
    window: int  # segment files on disk at once
    directory: str | None  # None: the system's temporary directory
    buffers: BufferPool


@dataclass(frozen=True)
class StreamInfo:
    """What subscribers learn once the stream is open."""

    size: int | None
    headers: Mapping[str, str]
    segment_size: int


@dataclass
class _File:
    index: int
    handle: IO[bytes]
    length: int = 0
    md5: str | None = None


@dataclass
class _Subscriber:
    next: int = 0  # the next segment it will take
    holding: set[int] = field(default_factory=set)


class _Abandoned(Exception):
    """Every subscriber left before the stream was read: stop reading it."""


class Spool:
    """One stream, read once on its own thread, offered to subscribers segment by segment."""

    def __init__(
        self,
        opener: Opener,
        settings: SpoolSettings,
        *,
        on_end: Callable[[Spool], None] | None = None,
    ) -> None:
        self._opener, self._settings, self._on_end = opener, settings, on_end
        self._ready = threading.Condition()
        self._files: dict[int, _File] = {}
        self._subscribers: dict[int, _Subscriber] = {}
        self._ids = itertools.count()
        self._info: StreamInfo | None = None
        self._published = 0  # segments 0 … published-1 are complete
        self._digests: Digests | None = None  # set once the stream is read and checked
        self._error: BaseException | None = None
        self._dropped_any = False
        self._started = self._reading = False
        self._ended = False
        self._thread = threading.Thread(target=self._read, name="spool-reader", daemon=True)

    def start(self) -> Subscription:
        """The first subscriber of a new spool (which starts reading)."""
        subscription = self.subscribe()
        if subscription is None:
            msg = "a spool takes its first subscriber only once"
            raise RuntimeError(msg)
        return subscription

    def subscribe(self) -> Subscription | None:
        """A new reader of the whole stream; None once that is no longer possible."""
        with self._ready:
            if self._dropped_any or self._error is not None or self._ended:
                return None
            key = next(self._ids)
            self._subscribers[key] = _Subscriber()
            start = not self._started
            if start:
                self._started = self._reading = True
        if start:
            self._thread.start()
        return Subscription(self, key)

    # the subscriber side ----------------------------------------------------------------
    def _wait(self, until: Callable[[], bool]) -> None:
        """Wait (holding ``_ready``) for ``until`` or a failure, which is raised."""
        while not until() and self._error is None:
            self._ready.wait()
        if self._error is not None and not until():
            raise fresh_copy(self._error)

    def _stream_info(self) -> StreamInfo:
        with self._ready:
            self._wait(lambda: self._info is not None)
            assert self._info is not None
            return self._info

    def _segments(self, key: int) -> Iterator[Segment]:
        for index in itertools.count():
            with self._ready:
                self._wait(partial(self._has_segment, index))
                if index >= self._published:
                    return
                spooled, subscriber = self._files[index], self._subscribers[key]
                subscriber.next = index + 1
                subscriber.holding.add(index)
                segment = Segment(index, spooled.handle.fileno(), 0, spooled.length, spooled.md5)
            yield segment

    def _has_segment(self, index: int) -> bool:
        """Segment ``index`` is complete, or the stream ended before it."""
        return index < self._published or self._digests is not None

    def _release(self, key: int, index: int) -> None:
        with self._ready:
            self._subscribers[key].holding.discard(index)
            self._ready.notify_all()

    def _finish(self) -> Digests:
        with self._ready:
            self._wait(lambda: self._digests is not None)
            assert self._digests is not None
            return self._digests

    def _leave(self, key: int) -> None:
        with self._ready:
            self._subscribers.pop(key, None)
            self._ready.notify_all()
        self._end_if_unused()

    # the reader side ----------------------------------------------------------------------
    def _read(self) -> None:
        try:
            digests = self._spool_stream()
        except BaseException as error:  # handed to every subscriber
            with self._ready:
                self._error = self._error or error
                self._reading = False
                self._ready.notify_all()
        else:
            with self._ready:
                self._digests, self._reading = digests, False
                self._ready.notify_all()
        self._end_if_unused()

    def _spool_stream(self) -> Digests:
        with self._opener() as opened:
            size = choose_segment_size(self._settings.segment_size, opened.size)
            with self._ready:
                self._info = StreamInfo(opened.size, dict(opened.headers), size)
                self._ready.notify_all()
            with StreamHashes(self._settings.buffers) as hashes:
                current: _File | None = None
                for chunk in opened.chunks:
                    view = hashes.whole(chunk)
                    while view:
                        current = current or self._new_file(self._published)
                        piece, view = view[: size - current.length], view[size - current.length :]
                        _write(current, piece, self._settings.directory)
                        hashes.segment(piece)
                        if current.length == size:
                            self._publish(current, hashes.close_segment())
                            current = None
                if current is not None:
                    self._publish(current, hashes.close_segment())
                digests = hashes.finish()
            if opened.check is not None:
                opened.check(digests)
        return digests

    def _new_file(self, index: int) -> _File:
        """A file for segment ``index``, once the window has room for it."""
        with self._ready:
            while len(self._files) >= self._settings.window:
                self._check_wanted()
                victim = self._droppable()
                if victim is None:
                    self._ready.wait()
                    continue
                self._files.pop(victim).handle.close()
                self._dropped_any = True
            self._check_wanted()
        handle = tempfile.TemporaryFile(dir=self._settings.directory)  # noqa: SIM115
        spooled = _File(index, handle)
        with self._ready:
            self._files[index] = spooled
        return spooled

    def _check_wanted(self) -> None:
        """Raise ``_Abandoned`` (and refuse new subscribers) once nobody reads the stream."""
        if not self._subscribers:
            self._error = self._error or _Abandoned("every upload of this stream stopped")
            raise _Abandoned

    def _droppable(self) -> int | None:
        """The lowest complete segment every subscriber is done with."""
        done = [
            index
            for index in self._files
            if index < self._published
            and all(s.next > index and index not in s.holding for s in self._subscribers.values())
        ]
        return min(done, default=None)

    def _publish(self, spooled: _File, md5: str) -> None:
        with self._ready:
            spooled.md5 = md5
            self._published = spooled.index + 1
            self._ready.notify_all()

    def _end_if_unused(self) -> None:
        """Close every file once nobody reads and the reader stopped."""
        with self._ready:
            if self._subscribers or self._reading or self._ended:
                return
            self._ended = True
            files, self._files = list(self._files.values()), {}
        for spooled in files:
            spooled.handle.close()
        if self._on_end is not None:
            self._on_end(self)


class Subscription:
    """One upload's view of a spool: a ``SegmentSource`` (close it, or use ``with``)."""

    def __init__(self, spool: Spool, key: int) -> None:
        self._spool, self._key = spool, key

    def info(self) -> StreamInfo:
        """Size, headers and segment size of the stream, once it is open."""
        return self._spool._stream_info()

    def segments(self) -> Iterator[Segment]:
        return self._spool._segments(self._key)

    def release(self, segment: Segment) -> None:
        self._spool._release(self._key, segment.index)

    def finish(self) -> Digests:
        return self._spool._finish()

    def close(self) -> None:
        self._spool._leave(self._key)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _write(spooled: _File, piece: memoryview, directory: str | None) -> None:
    """Append ``piece`` to a segment file; a full disk says where the spool is."""
    fd = spooled.handle.fileno()
    try:
        while piece:
            written = os.write(fd, piece)
            piece = piece[written:]
            spooled.length += written
    except OSError as error:
        where = directory or tempfile.gettempdir()
        msg = (
            f"spooling segment {spooled.index} to {where} failed: {error.strerror}. Free space"
            " there, or set UploadOptions.spool_dir (or a smaller spool_segments)."
        )
        raise OSError(error.errno, msg) from error


def fresh_copy(error: BaseException) -> BaseException:
    """A copy of ``error`` to raise in one more thread: each raise gets its own object, so
    marks a retry loop sets on it (``budget_spent``) stay with that loop."""
    clone = type(error).__new__(type(error), *error.args)
    clone.__dict__.update(vars(error))
    clone.__cause__ = error
    return clone
