"""Upload a byte stream as one object, or as a resumable SLO when it is bigger than a segment."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import BinaryIO

from ..errors import ChecksumMismatch
from ._hashing import ContentDigests, Digests, md5_hex, slo_etag
from ._object_models import UploadResult
from ._segments import (
    Chunks,
    Progress,
    SegmentPipeline,
    SegmentPlan,
    choose_segment_size,
    existing_segments,
    manifest_body,
    read_exactly,
)
from ._swift import SwiftSession, Target

Verify = Callable[[Digests], None]


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
    progress: Progress | None = None
    verify: Verify | None = None  # runs on the whole-content hashes before anything is committed


def object_headers(metadata: Mapping[str, str] | None, content_type: str | None) -> dict[str, str]:
    """``X-Object-Meta-*`` headers (and Content-Type) for an upload."""
    headers = {f"X-Object-Meta-{key}": value for key, value in (metadata or {}).items()}
    if content_type:
        headers["Content-Type"] = content_type
    return headers


def upload(session: SwiftSession, reader: BinaryIO, job: UploadJob) -> UploadResult:
    """Store ``reader`` as ``job.container/job.name``; plain when it fits one segment."""
    session.call(Target("upload to", job.container), lambda c: c.head_container(job.container))
    segment_size = choose_segment_size(job.segment_size, job.size)
    if job.size is not None and job.size <= segment_size:
        return _upload_plain(session, read_exactly(reader, job.size), job)
    chunks = Chunks(reader, segment_size, read_exactly(reader, segment_size))
    if chunks.first_is_short:
        return _upload_plain(session, next(chunks, b""), job)
    return _upload_slo(session, chunks, job, segment_size)  # no local keeps a segment alive


def _upload_plain(session: SwiftSession, data: bytes, job: UploadJob) -> UploadResult:
    digests = Digests(len(data), md5_hex(data), hashlib.sha256(data).hexdigest())
    _check_size(job, digests)
    if job.verify is not None:
        job.verify(digests)
    target = Target("upload of", job.container, job.name, etag=digests.md5)
    answered: str = session.call(
        target,
        lambda c: c.put_object(
            job.container,
            job.name,
            data,
            content_length=len(data),
            etag=digests.md5,
            headers=dict(job.headers),
        ),
    )
    _expect_etag(answered, digests.md5, job)
    if job.progress is not None:
        job.progress(len(data), job.size)
    return UploadResult(
        container=job.container,
        name=job.name,
        size=digests.size,
        md5=digests.md5,
        sha256=digests.sha256,
        etag=answered.strip('"'),
        segments=0,
        segments_uploaded=0,
        segments_skipped=0,
        manifest=False,
    )


def _upload_slo(
    session: SwiftSession, chunks: Chunks, job: UploadJob, segment_size: int
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
    )
    with ContentDigests(window=job.concurrency) as hasher:
        segments = pipeline.run(chunks, hasher)
        digests = hasher.finish()
    _check_size(job, digests)
    if job.verify is not None:
        job.verify(digests)
    expected = slo_etag([s.etag for s in segments])
    answered: str = session.call(
        Target("manifest upload of", job.container, job.name),
        lambda c: c.put_object(
            job.container,
            job.name,
            manifest_body(plan, segments),
            headers=dict(job.headers),
            query_string="multipart-manifest=put",
        ),
    )
    _expect_etag(answered, expected, job)
    uploaded = sum(s.uploaded for s in segments)
    return UploadResult(
        container=job.container,
        name=job.name,
        size=digests.size,
        md5=digests.md5,
        sha256=digests.sha256,
        etag=answered.strip('"'),
        segments=len(segments),
        segments_uploaded=uploaded,
        segments_skipped=len(segments) - uploaded,
        manifest=True,
        segment_container=plan.container,
    )


def _check_size(job: UploadJob, digests: Digests) -> None:
    if job.size is not None and digests.size != job.size:
        msg = (
            f"upload of {job.name!r} to container {job.container!r} read {digests.size} bytes "
            f"but expected {job.size}; the source changed while it was read. Upload it again."
        )
        raise ChecksumMismatch(msg, expected=str(job.size), actual=str(digests.size))


def _expect_etag(answered: str, expected: str, job: UploadJob) -> None:
    if answered.strip('"') != expected:
        msg = (
            f"object {job.name!r} in container {job.container!r} was stored with ETag "
            f"{answered!r}, expected {expected}; upload it again"
        )
        raise ChecksumMismatch(msg, expected=expected, actual=answered)
