"""Upload a file or a spooled stream as one object, or as a resumable SLO when it is bigger.

A file is read by range where it lies (``_filesource``); a stream is read once into a
spool (``_spool``) that one or several uploads read by range. Either way every worker
holds one buffer from the process-wide transfer budget, and the whole content's md5
and sha256 come from one sequential pass, checked before the object is committed.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import ChecksumMismatch
from ._bodies import LocalReadError, RangeBody, hash_range
from ._budget import BufferPool
from ._filesource import FileSegments
from ._hashing import Digests, slo_etag
from ._object_models import UploadResult
from ._segments import (
    Progress,
    SegmentPipeline,
    SegmentPlan,
    StoredSegment,
    choose_segment_size,
    existing_segments,
    manifest_body,
)
from ._sources import Segment, SegmentSource
from ._spool import Subscription
from ._swift import SwiftSession, Target, put_body


@dataclass(frozen=True)
class UploadJob:
    """One upload: where it goes and how it is cut, all decided before the first byte."""

    container: str
    name: str
    size: int | None
    segment_size: int
    concurrency: int
    segment_container: str
    headers: Mapping[str, str]
    buffers: BufferPool
    progress: Progress | None = None
    content_md5: bool = True


def object_headers(metadata: Mapping[str, str] | None, content_type: str | None) -> dict[str, str]:
    """``X-Object-Meta-*`` headers (and Content-Type) for an upload."""
    headers = {f"X-Object-Meta-{key}": value for key, value in (metadata or {}).items()}
    if content_type:
        headers["Content-Type"] = content_type
    return headers


def upload_file(session: SwiftSession, fd: int, job: UploadJob) -> UploadResult:
    """Store the open file ``fd`` (``job.size`` bytes); plain when it fits one segment."""
    _check_container(session, job)
    assert job.size is not None, "a file's size is known"
    segment_size = choose_segment_size(job.segment_size, job.size)
    if job.size <= segment_size:
        return _plain(session, _file_segment(fd, job.size), _file_digests(fd, job), job)
    source = FileSegments(
        fd,
        job.size,
        segment_size,
        ahead=job.concurrency,
        buffers=job.buffers,
        content_md5=job.content_md5,
    )
    with source:
        return _upload_slo(session, source, source.segments(), job, segment_size)


def upload_spooled(session: SwiftSession, source: Subscription, job: UploadJob) -> UploadResult:
    """Store the stream ``source`` reads; the stream's own checks run before any commit."""
    _check_container(session, job)
    segment_size = source.info().segment_size
    segments = source.segments()
    first = next(segments, None)
    if first is None or first.length < segment_size or _fits(job, segment_size):
        if first is not None and (more := next(segments, None)) is not None:
            source.release(more)
            source.release(first)
            return _refuse_longer(job)
        try:
            digests = source.finish()
            _check_size(job, digests)
            return _plain(session, first or _empty(), digests, job)
        finally:
            if first is not None:
                source.release(first)
    return _upload_slo(session, source, itertools.chain([first], segments), job, segment_size)


def _fits(job: UploadJob, segment_size: int) -> bool:
    return job.size is not None and job.size <= segment_size


def _check_container(session: SwiftSession, job: UploadJob) -> None:
    session.call(Target("upload to", job.container), lambda c: c.head_container(job.container))


def _file_segment(fd: int, size: int) -> Segment:
    return Segment(0, fd, 0, size)


def _empty() -> Segment:
    return Segment(0, -1, 0, 0, hashlib.md5(b"", usedforsecurity=False).hexdigest())


def _file_digests(fd: int, job: UploadJob) -> Digests:
    """md5 and sha256 of a small file, first, so Swift can check the md5 as the ETag."""
    assert job.size is not None
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with job.buffers.lease() as buffer:
        try:
            hash_range(fd, 0, job.size, buffer, [md5, sha256])
        except LocalReadError as error:
            raise error.error from None
    return Digests(job.size, md5.hexdigest(), sha256.hexdigest())


def _plain(
    session: SwiftSession, segment: Segment, digests: Digests, job: UploadJob
) -> UploadResult:
    """One PUT of the segment's bytes, with the md5 as ETag (the digests are known first)."""

    def attempt(conn: object) -> str:
        with job.buffers.lease() as buffer:
            body = RangeBody(segment.fd, segment.offset, segment.length, buffer)
            return put_body(
                conn, job.container, job.name, body, etag=digests.md5, headers=job.headers
            )

    target = Target("upload of", job.container, job.name, etag=digests.md5)
    try:
        answered = session.call(target, attempt)
    except LocalReadError as error:
        raise error.error from None
    _expect_etag(answered, digests.md5, job)
    if job.progress is not None:
        job.progress(digests.size, job.size)
    return _result(job, digests, answered, segments=[], plan=None)


def _upload_slo(
    session: SwiftSession,
    source: SegmentSource,
    segments: Iterable[Segment],
    job: UploadJob,
    segment_size: int,
) -> UploadResult:
    plan = SegmentPlan.for_object(
        segment_container=job.segment_container,
        name=job.name,
        total=job.size,
        segment_size=segment_size,
    )
    session.call(
        Target("creation of segment", plan.container),
        lambda c: c.put_container(plan.container),
    )
    pipeline = SegmentPipeline(
        session,
        plan,
        concurrency=job.concurrency,
        existing=existing_segments(session, plan),
        total=job.size,
        progress=job.progress,
        buffers=job.buffers,
    )
    stored = pipeline.run(source, segments)
    digests = source.finish()
    _check_size(job, digests)
    expected = slo_etag([s.etag for s in stored])
    answered: str = session.call(
        Target("manifest upload of", job.container, job.name),
        lambda c: c.put_object(
            job.container,
            job.name,
            manifest_body(plan, stored),
            headers=dict(job.headers),
            query_string="multipart-manifest=put",
        ),
    )
    _expect_etag(answered, expected, job)
    return _result(job, digests, answered, segments=stored, plan=plan)


def _result(
    job: UploadJob,
    digests: Digests,
    answered: str,
    *,
    segments: list[StoredSegment],
    plan: SegmentPlan | None,
) -> UploadResult:
    uploaded = sum(s.uploaded for s in segments)
    return UploadResult(
        container=job.container,
        name=job.name,
        size=digests.size,
        md5=digests.md5 or None,
        sha256=digests.sha256,
        etag=answered.strip('"'),
        segments=len(segments),
        segments_uploaded=uploaded,
        segments_skipped=len(segments) - uploaded,
        manifest=plan is not None,
        segment_container=plan.container if plan is not None else None,
    )


def _check_size(job: UploadJob, digests: Digests) -> None:
    if job.size is not None and digests.size != job.size:
        msg = (
            f"upload of {job.name!r} to container {job.container!r} read {digests.size} bytes "
            f"but expected {job.size}; the source changed while it was read. Upload it again."
        )
        raise ChecksumMismatch(msg, expected=str(job.size), actual=str(digests.size))


def _refuse_longer(job: UploadJob) -> UploadResult:
    msg = (
        f"upload of {job.name!r} to container {job.container!r} was promised {job.size} bytes"
        " but the source sent more; the source changed while it was read. Upload it again."
    )
    raise ChecksumMismatch(msg, expected=str(job.size), actual="more")


def _expect_etag(answered: str, expected: str, job: UploadJob) -> None:
    if answered.strip('"') != expected:
        msg = (
            f"object {job.name!r} in container {job.container!r} was stored with ETag "
            f"{answered!r}, expected {expected}; upload it again"
        )
        raise ChecksumMismatch(msg, expected=expected, actual=answered)
