"""The ``export-image`` flow: an owned image becomes a verified VHD in Cloud Files.

Runbook: check the container name → make sure the container exists → if
``<image id>.vhd`` is there and verifies, stop (skipped) → export task (or
wait for the one an earlier run started) → verify the DLO → optionally
download it (verified) and ``qemu-img compare`` it with a local disk image.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from prefect import flow, get_run_logger

from ..blocks import CloudImagesAccount, load_account
from ..tasks.exports import (
    ExportedObject,
    check_container_name,
    compare_disk_images,
    export_object_name,
    start_export_task,
    verify_export,
)
from ..tasks.images import find_task, get_image, wait_for_task
from ..tasks.storage import download_object, ensure_container, work_dir
from ._publish import publish
from .reports import ExportReport, Stopwatch

__all__ = ["ExportOutcome", "export_image", "export_once"]

EVENT = "cloudimages.image.exported"
DEFAULT_TIMEOUT = 6 * 3600.0


@dataclass
class ExportOutcome:
    exported: ExportedObject
    skipped: bool
    task_id: str | None


def export_once(
    block: CloudImagesAccount,
    region: str,
    image_id: str,
    container: str,
    *,
    deadline: float,
) -> ExportOutcome:
    """A verified export of the image in ``container``: found, waited for, or made."""
    check_container_name(container)
    get_image(block, region, image_id)  # NotFound, with the id, before anything is created
    ensure_container(block, region, container)
    found = verify_export(block, region, container, image_id, missing_ok=True)
    if found is not None:
        get_run_logger().info(
            "%s/%s exists and verifies; not exporting again", container, found.object
        )
        return ExportOutcome(found, skipped=True, task_id=None)
    match = {"image_uuid": image_id, "receiving_swift_container": container}
    task = find_task(block, region, task_type="export", match=match)
    if task is None or task.status not in ("pending", "processing"):
        task = start_export_task(block, region, image_id, container)
    wait_for_task(block, region, task.id, deadline=deadline)
    exported = verify_export(block, region, container, image_id)
    assert exported is not None  # missing_ok is off: a missing manifest raised NotFound
    return ExportOutcome(exported, skipped=False, task_id=task.id)


@flow(
    name="export-image",
    description="Export an owned image as a VHD into a Cloud Files container, verified.",
)
def export_image(  # noqa: PLR0917 (the flow signature is the CLI contract)
    image_id: str,
    account: str,
    container: str,
    region: str | None = None,
    download_to: str | None = None,
    compare_with: str | None = None,
) -> ExportReport:
    """Export an image; a rerun finds a verified export and skips it.

    Args:
        image_id: The image to export (the account must own it).
        account: Name of the Cloud Images Account block that owns the image.
        container: Cloud Files container to export into (no '.', '/' or '?').
        region: Region of the image; empty: the block's region.
        download_to: Download the exported VHD to this file or directory.
        compare_with: A local disk image to `qemu-img compare` the export with.
    """
    watch = Stopwatch()
    check_container_name(container)
    block = load_account(account)
    where = (region or block.effective_region).upper()
    with watch.step("export"):
        outcome = export_once(
            block, where, image_id, container, deadline=time.time() + DEFAULT_TIMEOUT
        )
    downloaded: Path | None = None
    compared: bool | None = None
    if download_to is not None or compare_with is not None:
        with watch.step("download"):
            downloaded = _download(block, where, container, image_id, download_to)
    if compare_with is not None and downloaded is not None:
        with watch.step("compare"):
            compared = compare_disk_images(downloaded, Path(compare_with).expanduser())
        if download_to is None:
            downloaded.unlink(missing_ok=True)
            downloaded = None
    exported = outcome.exported
    report = ExportReport(
        image_id=image_id,
        account=account,
        region=where,
        container=container,
        object=exported.object,
        size=exported.size,
        segments=exported.segments,
        downloaded_to=str(downloaded) if downloaded else None,
        compared=compared,
        skipped=outcome.skipped,
        task_id=outcome.task_id,
        duration_seconds=watch.elapsed,
        steps=watch.steps,
    )
    get_run_logger().info(
        "Image %s is exported as %s/%s (%d bytes)",
        image_id,
        container,
        exported.object,
        exported.size,
    )
    publish(
        report,
        key="cloudimages-export",
        markdown=report.to_markdown(),
        event=EVENT,
        image_id=image_id,
    )
    return report


def _download(
    block: CloudImagesAccount, region: str, container: str, image_id: str, to: str | None
) -> Path:
    name = export_object_name(image_id)
    dest = Path(to).expanduser() if to is not None else work_dir() / "exports" / name
    if dest.is_dir():
        dest = dest / name
    download_object(block, region, container, name, dest)
    return dest
