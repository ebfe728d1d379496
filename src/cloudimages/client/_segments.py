"""Static Large Object uploads: segment plan, resume listing, and the parallel pipeline.

The pipeline takes segments from a ``SegmentSource`` (a file's own ranges, or a
spool's segment files) and gives each to one of ``concurrency`` workers. A worker
skips a segment the segment container already holds with that size and md5 (a
resumed upload), else streams its range to Swift through one leased buffer, with
the md5 as ``ETag`` when it is known beforehand (spooled bytes) or computed on the
way (a file), and checks the ETag Swift answers. Memory is a buffer per worker
from the process-wide transfer budget, whatever the segment size.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from ..errors import ChecksumMismatch, ConfigurationError, NotFound
from ._bodies import LocalReadError, RangeBody, hash_range
from ._budget import BufferPool
from ._sources import Segment, SegmentSource
from ._swift import SwiftSession, Target, put_body
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


class SegmentPipeline:
    """Uploads the segments of one SLO in parallel; progress is reported on the caller's thread."""

    def __init__(
        self,
        session: SwiftSession,
        plan: SegmentPlan,
        *,
        concurrency: int,
        existing: Mapping[str, tuple[int, str]],
        total: int | None,
        progress: Progress | None,
        buffers: BufferPool,
    ) -> None:
        self._session = session
        self._plan = plan
        self._concurrency = max(1, concurrency)
        self._existing = existing
        self._total = total
        self._progress = progress
        self._buffers = buffers
        self._done_bytes = 0
        self._stored: dict[int, StoredSegment] = {}

    def run(self, source: SegmentSource, segments: Iterable[Segment]) -> list[StoredSegment]:
        """Store every segment; return them in order once all are stored."""
        pending: set[Future[StoredSegment]] = set()
        pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="segment")
        try:
            taken = iter(segments)
            while True:
                while len(pending) >= self._concurrency:
                    self._collect(pending)
                segment = next(taken, None)
                if segment is None:
                    break
                self._check_count(segment.index)
                pending.add(pool.submit(self._store, source, segment))
            while pending:
                self._collect(pending)
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

    def _collect(self, pending: set[Future[StoredSegment]]) -> None:
        """Wait for one segment to finish; record it (or raise its failure)."""
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in sorted(done, key=lambda f: f.exception() is None):  # failures first
            pending.discard(future)
            self._record(future.result())

    def _record(self, segment: StoredSegment) -> None:
        self._stored[segment.index] = segment
        self._done_bytes += segment.size
        if self._progress is not None:
            self._progress(self._done_bytes, self._total)

    def _store(self, source: SegmentSource, segment: Segment) -> StoredSegment:
        try:
            return self._put(segment)
        except LocalReadError as error:
            raise error.error from None
        finally:
            source.release(segment)

    def _put(self, segment: Segment) -> StoredSegment:
        plan, name, size = self._plan, self._plan.name(segment.index), segment.length
        stored = self._existing.get(name)
        if stored is not None and stored[0] == size and stored[1] == self._md5_of(segment):
            return StoredSegment(segment.index, name, size, stored[1], uploaded=False)
        target = Target("upload of segment", plan.container, name, etag=segment.md5)
        answered, etag = self._session.call(target, lambda conn: self._send(conn, segment, name))
        if answered != etag:
            msg = (
                f"segment {name!r} in container {plan.container!r} was stored with ETag "
                f"{answered!r} but its md5 is {etag}; upload it again"
            )
            raise ChecksumMismatch(msg, expected=etag, actual=answered)
        return StoredSegment(segment.index, name, size, etag, uploaded=True)

    def _md5_of(self, segment: Segment) -> str:
        """The segment's md5: known when spooled, else read from its range."""
        if segment.md5 is not None:
            return segment.md5
        md5 = hashlib.md5(usedforsecurity=False)
        with self._buffers.lease() as buffer:
            hash_range(segment.fd, segment.offset, segment.length, buffer, [md5])
        return md5.hexdigest()

    def _send(self, conn: Any, segment: Segment, name: str) -> tuple[str, str]:
        """One attempt: PUT the segment's range; (ETag answered, md5 of what was sent)."""
        md5 = hashlib.md5(usedforsecurity=False)
        hashers = [md5] if segment.md5 is None else []
        with self._buffers.lease() as buffer:
            body = RangeBody(segment.fd, segment.offset, segment.length, buffer, hashers)
            answered = put_body(conn, self._plan.container, name, body, etag=segment.md5)
        return answered, segment.md5 or md5.hexdigest()
