"""Static Large Object uploads: segment plan, resume listing, and the parallel pipeline.

One thread (the caller's) reads the content in order, one segment at a time, and
hands each segment both to the whole-content digests and to an upload worker. It
never holds more than ``concurrency + 1`` segments, so memory stays near
``(concurrency + 1) × segment size`` however big the content is. Each worker hashes
its segment, skips it if the segment container already holds it with that size and
md5 (a resumed upload), else PUTs it with ``ETag`` so Swift verifies it, and checks
the ETag Swift answers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, BinaryIO

from ..errors import ChecksumMismatch, ConfigurationError, NotFound
from ._hashing import ContentDigests, md5_hex
from ._swift import SwiftSession, Target
from .units import MiB

MIN_SEGMENT_SIZE = MiB
MAX_SEGMENTS = 1000
MAX_SEGMENT_SIZE = 5 * 1024**3

Progress = Callable[[int, int | None], None]


def choose_segment_size(requested: int, total: int | None) -> int:
    """At least 1 MiB, and grown (to whole MiB) so ``total`` needs at most 1000 segments."""
    size = max(requested, MIN_SEGMENT_SIZE)
    if total is not None and math.ceil(total / size) > MAX_SEGMENTS:
        size = math.ceil(total / MAX_SEGMENTS / MiB) * MiB
    if size > MAX_SEGMENT_SIZE:
        msg = (
            f"{total} bytes do not fit in one Static Large Object ({MAX_SEGMENTS} segments"
            " of at most 5 GiB); Cloud Files cannot store it as one object"
        )
        raise ConfigurationError(msg)
    return size


@dataclass(frozen=True)
class SegmentPlan:
    """Where the segments of one upload live: ``<container>/<name>/slo/<total>/<size>/<n>``."""

    container: str
    prefix: str
    size: int

    @classmethod
    def for_object(
        cls, *, segment_container: str, name: str, total: int | None, segment_size: int
    ) -> SegmentPlan:
        total_part = str(total) if total is not None else "stream"
        return cls(segment_container, f"{name}/slo/{total_part}/{segment_size}/", segment_size)

    def name(self, index: int) -> str:
        return f"{self.prefix}{index:08d}"


@dataclass(frozen=True)
class StoredSegment:
    """One segment as the manifest will list it."""

    index: int
    name: str
    size: int
    etag: str
    uploaded: bool  # False when a previous run had stored it already


class Chunks:
    """Iterates ``reader`` in pieces of exactly ``size`` bytes (the last may be shorter).

    A class, not a generator, so no suspended frame keeps the previous piece alive.
    """

    def __init__(self, reader: BinaryIO, size: int, first: bytes | None = None) -> None:
        self._reader = reader
        self._size = size
        self._first = first

    @property
    def first_is_short(self) -> bool:
        """True when the content ended within the first piece (so it is one object)."""
        return self._first is not None and len(self._first) < self._size

    def __iter__(self) -> Chunks:
        return self

    def __next__(self) -> bytes:
        if self._first is not None:
            data, self._first = self._first, None
        else:
            data = read_exactly(self._reader, self._size)
        if not data:
            raise StopIteration
        return data


def read_exactly(reader: BinaryIO, size: int) -> bytes:
    """``size`` bytes, or fewer only at the end of the stream."""
    data = reader.read(size)
    if len(data) == size or not data:
        return data
    parts = [data]
    got = len(data)
    while got < size:
        more = reader.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def existing_segments(session: SwiftSession, plan: SegmentPlan) -> dict[str, tuple[int, str]]:
    """Segments a previous run stored under the plan's prefix: name → (size, md5)."""
    target = Target("listing of", plan.container)
    try:
        _, listing = session.call(
            target,
            lambda c: c.get_container(plan.container, prefix=plan.prefix, full_listing=True),
        )
    except NotFound:
        return {}
    return {str(item["name"]): (int(item["bytes"]), str(item["hash"])) for item in listing}


def manifest_body(plan: SegmentPlan, segments: list[StoredSegment]) -> bytes:
    """The ``multipart-manifest=put`` JSON for the segments, in order."""
    entries = [
        {"path": f"/{plan.container}/{s.name}", "etag": s.etag, "size_bytes": s.size}
        for s in segments
    ]
    return json.dumps(entries).encode()


_Pending = tuple[Future[StoredSegment], tuple[Future[Any], Future[Any]]]


class SegmentPipeline:
    """Uploads the segments of one SLO in parallel while the caller's thread reads and hashes."""

    def __init__(
        self,
        session: SwiftSession,
        plan: SegmentPlan,
        *,
        concurrency: int,
        existing: Mapping[str, tuple[int, str]],
        total: int | None,
        progress: Progress | None,
    ) -> None:
        self._session = session
        self._plan = plan
        self._concurrency = max(1, concurrency)
        self._existing = existing
        self._total = total
        self._progress = progress
        self._done_bytes = 0
        self._stored: dict[int, StoredSegment] = {}

    def run(self, chunks: Iterator[bytes], digests: ContentDigests) -> list[StoredSegment]:
        """Upload every chunk as a segment; return them in order once all are stored."""
        pending: list[_Pending] = []
        pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="segment")
        try:
            for index, data in enumerate(chunks):
                self._check_count(index)
                hashed = digests.feed(data)
                pending.append((pool.submit(self._put, index, data), hashed))
                del data
                self._drain(pending, keep=self._concurrency)
            self._drain(pending, keep=0)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return [self._stored[i] for i in sorted(self._stored)]

    def _check_count(self, index: int) -> None:
        if index >= MAX_SEGMENTS:
            msg = (
                f"the content of {self._plan.prefix!r} needs more than {MAX_SEGMENTS} segments "
                f"of {self._plan.size} bytes; pass a larger segment_size (or the size, so it "
                "can be chosen for you)"
            )
            raise ConfigurationError(msg)

    def _drain(self, pending: list[_Pending], *, keep: int) -> None:
        """Wait until at most ``keep`` segments are still uploading or being hashed."""
        while len(pending) > keep:
            finished = [p for p in pending if p[0].done() and all(h.done() for h in p[1])]
            failed = [p for p in pending if p[0].done() and p[0].exception() is not None]
            for entry in failed or finished:
                pending.remove(entry)
                self._record(entry[0].result())
            if not (failed or finished):
                busy = [f for p in pending for f in (p[0], *p[1]) if not f.done()]
                wait(busy, return_when=FIRST_COMPLETED)

    def _record(self, segment: StoredSegment) -> None:
        self._stored[segment.index] = segment
        self._done_bytes += segment.size
        if self._progress is not None:
            self._progress(self._done_bytes, self._total)

    def _put(self, index: int, data: bytes) -> StoredSegment:
        plan, etag, name = self._plan, md5_hex(data), self._plan.name(index)
        if self._existing.get(name) == (len(data), etag):
            return StoredSegment(index, name, len(data), etag, uploaded=False)
        target = Target("upload of segment", plan.container, name, etag=etag)
        answered: str = self._session.call(
            target,
            lambda c: c.put_object(plan.container, name, data, content_length=len(data), etag=etag),
        )
        if answered.strip('"') != etag:
            msg = (
                f"segment {name!r} in container {plan.container!r} was stored with ETag "
                f"{answered!r} but its md5 is {etag}; upload it again"
            )
            raise ChecksumMismatch(msg, expected=etag, actual=answered)
        return StoredSegment(index, name, len(data), etag, uploaded=True)
