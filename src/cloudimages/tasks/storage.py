"""Cloud Files steps: fetch a source, upload to staging, copy, download, clean up.

A source given as an http(s) URL is downloaded into the work directory first,
its sha256 computed on the way: the content must be inspected with qemu-img and
its sha256 known before anything is uploaded (it names the staging object and
finds earlier imports). A rerun downloads it again; local files are only hashed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import cast
from urllib.parse import unquote, urlsplit
from uuid import UUID

from prefect import get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from pydantic import BaseModel

from ..blocks import CloudImagesAccount
from ..client._streams import open_url  # the one place httpx download errors are mapped
from ..client.objects import DownloadResult, ObjectInfo, UploadResult
from ._retry import step

__all__ = [
    "Source",
    "copy_object_across",
    "delete_staging_object",
    "download_object",
    "ensure_container",
    "fetch_source",
    "upload_to_staging",
    "work_dir",
]

WORK_DIR_ENV = "CLOUDIMAGES_WORK_DIR"
MiB = 1024 * 1024
_HASH_CHUNK = 4 * MiB
#: Update the upload's progress artifact at most this often (each update is an API call).
PROGRESS_EVERY = 0.1


class Source(BaseModel):
    """A source disk image on this machine, with the sha256 of its content."""

    given: str  # what the user passed: a path or a URL
    path: Path
    sha256: str
    size: int
    downloaded: bool


def work_dir() -> Path:
    """Where downloads and conversions go: ``$CLOUDIMAGES_WORK_DIR`` or a temp folder."""
    configured = os.environ.get(WORK_DIR_ENV)
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "cloudimages-work"


def is_url(source: str) -> bool:
    return urlsplit(source).scheme in ("http", "https")


@step("fetch-source")
def fetch_source(source: str, work: Path) -> Source:
    """Hash a local file, or download a URL into ``work`` hashing it as it arrives."""
    logger = get_run_logger()
    if not is_url(source):
        path = Path(source).expanduser().resolve()
        sha, size = _hash_file(path) if path.is_file() else ("", 0)
        logger.info("Source %s: %d bytes, sha256 %s", path, size, sha or "(missing)")
        return Source(given=source, path=path, sha256=sha, size=size, downloaded=False)
    work.mkdir(parents=True, exist_ok=True)
    name = Path(unquote(urlsplit(source).path)).name or "download"
    target = work / f"{hashlib.sha256(source.encode()).hexdigest()[:16]}-{name}"
    part = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
    digest, size = hashlib.sha256(), 0
    try:
        with open_url(source, timeout=120.0) as (reader, _), part.open("wb") as out:
            while chunk := reader.read(_HASH_CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        part.replace(target)
    finally:
        part.unlink(missing_ok=True)
    logger.info("Downloaded %s: %d bytes, sha256 %s", source, size, digest.hexdigest())
    return Source(given=source, path=target, sha256=digest.hexdigest(), size=size, downloaded=True)


def _hash_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


@step("ensure-container")
def ensure_container(account: CloudImagesAccount, region: str, container: str) -> None:
    """Create the container unless it exists."""
    get_run_logger().info("Making sure container %r exists in %s", container, region)
    with account.objects_client(region) as files:
        files.ensure_container(container)


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


@step("upload-to-staging")
def upload_to_staging(
    account: CloudImagesAccount,
    region: str,
    path: Path,
    container: str,
    name: str,
    *,
    segment_size: int,
) -> UploadResult:
    """Upload a VHD as a resumable SLO; segments stored by an earlier run are skipped."""
    logger = get_run_logger()
    logger.info("Uploading %s to %s/%s in %s", path.name, container, name, region)
    progress = _UploadProgress(f"Upload of {path.name} to {container}/{name}")
    started = time.monotonic()
    with account.objects_client(region) as files:
        files.ensure_container(container)
        result = files.upload_file(
            path, container, name, segment_size=segment_size, progress=progress
        )
    logger.info(
        "Uploaded %d bytes in %.1f s: %d segment(s) sent, %d already stored",
        result.size,
        time.monotonic() - started,
        result.segments_uploaded,
        result.segments_skipped,
    )
    return result


@step("delete-staging-object")
def delete_staging_object(
    account: CloudImagesAccount, region: str, container: str, name: str
) -> int:
    """Delete an object with its segments (SLO or DLO); nothing to do when it is gone."""
    with account.objects_client(region) as files:
        removed = files.delete_object(container, name, missing_ok=True)
    get_run_logger().info("Deleted %s/%s in %s (%d object(s))", container, name, region, removed)
    return removed


@step("head-object")
def head_object(account: CloudImagesAccount, region: str, container: str, name: str) -> ObjectInfo:
    """Size, ETag and kind of one object (``NotFound`` when absent)."""
    with account.objects_client(region) as files:
        return files.head_object(container, name)


@step("copy-object-across")
def copy_object_across(
    source: CloudImagesAccount,
    source_region: str,
    target: CloudImagesAccount,
    target_region: str,
    *,
    container: str,
    name: str,
    dst_container: str,
    dst_name: str,
    segment_size: int = 64 * MiB,
) -> UploadResult:
    """Stream an object into another account or region, stored there as a resumable SLO."""
    logger = get_run_logger()
    logger.info(
        "Copying %s/%s (%s) to %s/%s (%s)",
        container,
        name,
        source_region,
        dst_container,
        dst_name,
        target_region,
    )
    with (
        target.objects_client(target_region) as into,
        source.objects_client(source_region) as files,
    ):
        into.ensure_container(dst_container)
        result = files.copy_across(
            into, container, name, dst_container, dst_name, segment_size=segment_size
        )
    logger.info(
        "Copied %d bytes: %d segment(s) sent, %d already there",
        result.size,
        result.segments_uploaded,
        result.segments_skipped,
    )
    return result


@step("download-object")
def download_object(
    account: CloudImagesAccount, region: str, container: str, name: str, dest: Path
) -> DownloadResult:
    """Download an object to ``dest`` (via a temp file), verified where Swift allows."""
    get_run_logger().info("Downloading %s/%s from %s to %s", container, name, region, dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with account.objects_client(region) as files:
        return files.download(container, name, dest)
