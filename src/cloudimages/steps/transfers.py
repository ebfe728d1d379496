"""Import steps: stage bytes, turn them into an image, wait, clean up.

Each is one call of the cloud seam (``client.Cloud``); what they do on
Rackspace (an SLO in Cloud Files, an import task) is the dialect's business.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import cast
from uuid import UUID

from prefect import get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact

from .. import progress
from ..client import Exported, ImportJob, Staging
from ..client.objects import UploadResult
from ..errors import TaskTimedOut
from ._step import step
from .clouds import cloud

__all__ = [
    "REPLACE_STUCK_HINT",
    "abandon_import",
    "discard_staged",
    "find_import",
    "import_url",
    "stage_copy",
    "stage_image",
    "start_import",
    "wait_import",
]

#: Update the upload's progress artifact at most this often (each update is an API call).
PROGRESS_EVERY = 0.1
REPLACE_STUCK_HINT = (
    "Rerun with --replace-stuck-task (the flow parameter replace_stuck_task) to start a"
    " fresh import task on the same staged upload, or with a longer --task-timeout-minutes"
    " to keep waiting for this one."
)


class _UploadProgress:
    """Feeds a progress artifact, updating it every ``PROGRESS_EVERY`` of the way."""

    def __init__(self, description: str) -> None:
        self.artifact = cast(UUID, create_progress_artifact(progress=0.0, description=description))
        self.reported = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        if not total:
            return
        fraction = min(1.0, done / total)
        if fraction - self.reported >= PROGRESS_EVERY or (fraction == 1.0 > self.reported):
            self.reported = fraction
            update_progress_artifact(artifact_id=self.artifact, progress=100.0 * fraction)


@step("find-earlier-import")
def find_import(account: str, region: str, staging: Staging, *, name: str) -> ImportJob | None:
    """The import of ``staging`` as ``name`` an earlier run started, if it can be adopted."""
    job = cloud(account, region).find_import(staging, name=name)
    if job is not None:
        get_run_logger().info("Resuming with earlier import task %s (%s)", job.task_id, job.status)
    return job


@step("stage-image")
def stage_image(
    account: str,
    region: str,
    path: Path,
    staging: Staging,
    *,
    name: str,
    disk_format: str,
    segment_size: int,
) -> UploadResult:
    """Upload a disk image where the import reads it; what is stored already is skipped."""
    logger = get_run_logger()
    logger.info("Uploading %s to %s in %s", path.name, staging, region)
    artifact = _UploadProgress(f"Upload of {path.name} to {staging}")
    started = time.monotonic()
    with progress.phase(f"Upload {path.name}", total=path.stat().st_size) as shown:
        result = cloud(account, region).stage(
            staging,
            path,
            name=name,
            disk_format=disk_format,
            segment_size=segment_size,
            progress=progress.tee(artifact, shown),
        )
    logger.info(
        "Uploaded %d bytes in %.1f s: %d segment(s) sent, %d already stored",
        result.size,
        time.monotonic() - started,
        result.segments_uploaded,
        result.segments_skipped,
    )
    return result


@step("copy-to-staging")
def stage_copy(
    source: str,
    source_region: str,
    export: Exported,
    *,
    target: str,
    target_region: str,
    staging: Staging,
    name: str,
    segment_size: int,
) -> UploadResult:
    """Stream the source's export into the target's staging, verified on the way."""
    logger = get_run_logger()
    logger.info(
        "Copying %s/%s (%s) to %s (%s)",
        export.container,
        export.object,
        source_region,
        staging,
        target_region,
    )
    with progress.phase(f"Copy to {target} ({target_region})", total=export.size):
        result = cloud(target, target_region).stage_copy(
            staging, cloud(source, source_region), export, name=name, segment_size=segment_size
        )
    logger.info(
        "Copied %d bytes: %d segment(s) sent, %d already there",
        result.size,
        result.segments_uploaded,
        result.segments_skipped,
    )
    return result


@step("import-from-url")
def import_url(
    account: str, region: str, staging: Staging, url: str, *, name: str, disk_format: str
) -> ImportJob:
    """Have the account's cloud fetch ``url`` itself into a new image named ``name``."""
    job = cloud(account, region).import_url(staging, url, name=name, disk_format=disk_format)
    get_run_logger().info("The image service of %s fetches %s (image %s)", region, url, job.task_id)
    return job


@step("start-import")
def start_import(account: str, region: str, staging: Staging, *, name: str) -> ImportJob:
    """Start turning the staged bytes into an image named ``name``."""
    job = cloud(account, region).start_import(staging, name=name)
    get_run_logger().info("Started import task %s of %s in %s", job.task_id, staging, region)
    return job


@step("abandon-stuck-import")
def abandon_import(account: str, region: str, job: ImportJob, staging: Staging) -> None:
    """Give up on an earlier run's unfinished import; a fresh one follows."""
    cloud(account, region).abandon_import(job, staging)
    get_run_logger().warning("Gave up on import %s (%s)", job.task_id, job.status)


@step("wait-for-import")
def wait_import(
    account: str, region: str, job: ImportJob, staging: Staging, *, name: str, deadline: float
) -> ImportJob:
    """Wait for the import (``deadline`` is wall-clock, so a rerun keeps its own)."""
    get_run_logger().info("Waiting for import task %s in %s", job.task_id, region)
    try:
        with progress.phase(f"Import task in {region}", unit="wait", status=job.status):
            return cloud(account, region).wait_import(job, staging, name=name, deadline=deadline)
    except TaskTimedOut as error:
        msg = f"{error} {REPLACE_STUCK_HINT}"
        raise TaskTimedOut(msg, task_id=error.task_id, status=error.status) from error


@step("delete-staging")
def discard_staged(account: str, region: str, staging: Staging) -> int:
    """Delete the staged bytes (with their segments); nothing to do when they are gone."""
    removed = cloud(account, region).discard_staged(staging)
    get_run_logger().info("Deleted %s in %s (%d object(s))", staging, region, removed)
    return removed
