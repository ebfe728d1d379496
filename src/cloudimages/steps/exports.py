"""Export steps: an image becomes a verified object, downloaded or compared on request."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger

from .. import diskimage, progress
from ..client import Exported, ExportJob, Image
from ..client.objects import DownloadResult
from ..errors import DiskImageError
from ._step import step
from .clouds import cloud

__all__ = [
    "compare_disk_images",
    "discard_export",
    "download_export",
    "find_export",
    "image_data",
    "start_export",
    "stream_formats",
    "verify_export",
    "wait_export",
]


@step("image-data")
def image_data(account: str, region: str, image: Image) -> Exported | None:
    """The image's bytes where the cloud serves them directly; None: export them first."""
    return cloud(account, region).image_data(image)


@step("stream-formats")
def stream_formats(account: str, region: str) -> frozenset[str]:
    """Disk formats the account's cloud takes as a stream from another cloud, unconverted."""
    return cloud(account, region).accepts_streams


@step("find-export")
def find_export(account: str, region: str, image_id: str, container: str) -> Exported | None:
    """A complete export of the image in ``container`` that an earlier run made, if any."""
    found = cloud(account, region).find_export(image_id, container)
    if found is not None:
        get_run_logger().info("%s/%s exists and verifies", container, found.object)
    return found


@step("start-export")
def start_export(account: str, region: str, image_id: str, container: str) -> ExportJob:
    """Start exporting an owned image into ``container`` (or adopt the running export)."""
    job = cloud(account, region).start_export(image_id, container)
    get_run_logger().info(
        "Export task %s of image %s to %r in %s (%s)",
        job.task_id,
        image_id,
        container,
        region,
        job.status,
    )
    return job


@step("wait-for-export")
def wait_export(
    account: str, region: str, job: ExportJob, image_id: str, container: str, *, deadline: float
) -> None:
    """Wait for the export task (``deadline`` is wall-clock, ``time.time()``)."""
    get_run_logger().info("Waiting for export task %s in %s", job.task_id, region)
    with progress.phase(f"Export task in {region}", unit="wait", status=job.status):
        cloud(account, region).wait_export(job, image_id, container, deadline=deadline)


@step("verify-export")
def verify_export(account: str, region: str, image_id: str, container: str) -> Exported:
    """Check the export is whole: ``ChecksumMismatch`` if not, ``NotFound`` if absent."""
    exported = cloud(account, region).verify_export(image_id, container)
    get_run_logger().info(
        "Verified %s/%s: %d bytes in %d segment(s)",
        container,
        exported.object,
        exported.size,
        exported.segments,
    )
    return exported


@step("download-export")
def download_export(account: str, region: str, exported: Exported, dest: Path) -> DownloadResult:
    """Download an export to ``dest`` (via a temp file), verified where Swift allows."""
    get_run_logger().info("Downloading %s/%s to %s", exported.container, exported.object, dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with progress.phase(f"Download {dest.name}", total=exported.size) as shown:
        return cloud(account, region).download_export(exported, dest, progress=shown)


@step("delete-export")
def discard_export(account: str, region: str, exported: Exported) -> int:
    """Delete an export (manifest and segments); nothing to do when it is gone."""
    removed = cloud(account, region).discard_export(exported)
    get_run_logger().info(
        "Deleted %s/%s (%d object(s))", exported.container, exported.object, removed
    )
    return removed


@step("compare-disk-images")
def compare_disk_images(exported: Path, original: Path, *, fmt: str = "vhd") -> bool:
    """``qemu-img compare`` the export with the original; ``DiskImageError`` if they differ."""
    if not original.is_file():
        msg = f"cannot compare with {str(original)!r}: the file does not exist. Check the path."
        raise DiskImageError(msg)
    original_fmt = diskimage.probe_format(original)
    exported_fmt = "vpc" if fmt == "vhd" else fmt
    same = diskimage.compare(exported, original, fmt_a=exported_fmt, fmt_b=original_fmt)
    if not same:
        msg = (
            f"the exported image {exported.name} and {str(original)!r} ({original_fmt}) hold"
            " different"
            " disk content; the image is not the one you compared it with."
        )
        raise DiskImageError(msg)
    get_run_logger().info("Exported image %s matches %s", exported.name, original.name)
    return True
