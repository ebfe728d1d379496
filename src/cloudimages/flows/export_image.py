"""The ``export-image`` flow: an owned image becomes a verified VHD in Cloud Files.

Runbook: if ``<image id>.vhd`` is in the container and verifies, stop (skipped)
→ export (or wait for the export an earlier run started) → verify the DLO →
optionally download it (verified) and ``qemu-img compare`` it with a local
disk image.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from ..client import Exported
from ..errors import ConfigurationError
from ..params import ExportRequest
from ..reports import ExportReport, Stopwatch
from ..steps.catalog import get_image
from ..steps.clouds import account_region
from ..steps.exports import compare_disk_images, download_export, image_data
from ..steps.sequences import ExportOutcome, deadline_after, export_once
from ..steps.sources import work_dir
from ._publish import publish

__all__ = ["export_image"]

EVENT = "cloudimages.image.exported"


@flow(
    name="export-image",
    description="Export an owned image as a VHD into a Cloud Files container, verified.",
)
def export_image(request: ExportRequest) -> ExportReport:
    """Export an image; a rerun finds a verified export and skips it.

    Args:
        request: The image, the account block that owns it, the container, and
            whether to download and compare the export.
    """
    watch = Stopwatch()
    account, region = request.account, account_region(request.account, request.region)
    with watch.step("export"):
        outcome = _exported(request, account, region)
    exported = outcome.exported
    downloaded: Path | None = None
    compared: bool | None = None
    if request.download_to is not None or request.compare_with is not None:
        with watch.step("download"):
            downloaded = _download(account, region, exported, request.download_to)
    if request.compare_with is not None and downloaded is not None:
        with watch.step("compare"):
            compared = compare_disk_images(
                downloaded, Path(request.compare_with).expanduser(), fmt=exported.disk_format
            )
        if request.download_to is None:
            downloaded.unlink(missing_ok=True)
            downloaded = None
    report = ExportReport(
        image_id=request.image_id,
        account=account,
        region=region,
        container=request.container,
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
        request.image_id,
        request.container,
        exported.object,
        exported.size,
    )
    publish(
        report,
        key="cloudimages-export",
        markdown=report.to_markdown(),
        event=EVENT,
        image_id=request.image_id,
    )
    return report


def _exported(request: ExportRequest, account: str, region: str) -> ExportOutcome:
    """An export into the container; without one, the image's bytes where the cloud serves them."""
    if request.container is not None:
        deadline = deadline_after(request.task_timeout_minutes)
        return export_once(account, region, request.image_id, request.container, deadline=deadline)
    direct = image_data(account, region, get_image(account, region, request.image_id))
    if direct is None:
        msg = (
            f"{account} ({region}) serves image bytes only through an export into a Cloud Files"
            " container: give --container (the download is taken from there)."
        )
        raise ConfigurationError(msg)
    return ExportOutcome(direct, skipped=False, task_id=None)


def _download(account: str, region: str, exported: Exported, to: str | None) -> Path:
    dest = Path(to).expanduser() if to is not None else work_dir() / "exports" / exported.object
    if dest.is_dir():
        dest = dest / exported.object
    download_export(account, region, exported, dest)
    return dest
