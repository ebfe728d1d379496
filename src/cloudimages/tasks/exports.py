"""Export steps: start an export task, verify the DLO it wrote, compare a download.

An export writes a zero-byte DLO manifest ``<image id>.vhd`` whose
``X-Object-Manifest`` names the segments ``<image id>.vhd-00001``, ``-00002``…
in the same container. Verified means: the manifest is that DLO, the segments
are numbered without gaps, and their sizes add up to the manifest's length.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from prefect import get_run_logger
from pydantic import BaseModel

from .. import diskimage
from ..blocks import CloudImagesAccount
from ..client import Task
from ..errors import ChecksumMismatch, ConfigurationError, DiskImageError, NotFound
from ._retry import step

__all__ = [
    "ExportedObject",
    "check_container_name",
    "compare_disk_images",
    "export_object_name",
    "start_export_task",
    "verify_export",
]

_BAD_CONTAINER_CHARS = ("/", "?", ".")


class ExportedObject(BaseModel):
    """A verified export: the manifest, its length and its segments."""

    container: str
    object: str
    size: int
    segments: int


def export_object_name(image_id: str) -> str:
    return f"{image_id}.vhd"


def check_container_name(container: str) -> None:
    """Refuse names the export task would refuse, before anything is created."""
    bad = [c for c in _BAD_CONTAINER_CHARS if c in container]
    if not container or bad:
        msg = (
            f"container name {container!r} cannot receive exports: Cloud Images refuses names"
            " that are empty or contain '/', '?' or '.'. Choose a name like 'exports'."
        )
        raise ConfigurationError(msg)


@step("start-export-task", retries=0)
def start_export_task(
    account: CloudImagesAccount, region: str, image_id: str, container: str
) -> Task:
    """Create the export task of an owned image into ``container`` (the client retries)."""
    task = account.images_client(region).create_export_task(image_id, container)
    get_run_logger().info(
        "Started export task %s of image %s to %r in %s", task.id, image_id, container, region
    )
    return task


@step("verify-export")
def verify_export(
    account: CloudImagesAccount,
    region: str,
    container: str,
    image_id: str,
    *,
    missing_ok: bool = False,
) -> ExportedObject | None:
    """Check the DLO manifest and its numbered segments; ``ChecksumMismatch`` if not whole.

    With ``missing_ok``, an absent manifest gives None instead of ``NotFound``.
    """
    name = export_object_name(image_id)
    with account.objects_client(region) as files:
        try:
            manifest = files.head_object(container, name)
        except NotFound:
            if missing_ok:
                return None
            raise
        segments = files.list_objects(container, prefix=f"{name}-")
    where = f"{container}/{name} in {region}"
    expected_prefix = f"{container}/{name}-"
    pointer = unquote(manifest.dlo_manifest or "").lstrip("/")
    if manifest.large_object != "dlo" or pointer != expected_prefix:
        msg = (
            f"{where} is not the export's DLO manifest (X-Object-Manifest {pointer!r}, expected"
            f" {expected_prefix!r}); delete it and export again."
        )
        raise ChecksumMismatch(msg, expected=expected_prefix, actual=pointer)
    names = sorted(s.name for s in segments)
    wanted = [f"{name}-{n:05d}" for n in range(1, len(names) + 1)]
    if not names or names != wanted:
        msg = f"the segments of {where} are missing or not numbered 00001…: {names[:5]}…"
        raise ChecksumMismatch(msg, expected=",".join(wanted[:3]), actual=",".join(names[:3]))
    total = sum(s.size for s in segments)
    if total != manifest.size:
        msg = (
            f"the {len(names)} segments of {where} hold {total} bytes but the manifest serves"
            f" {manifest.size}; delete the export and export again."
        )
        raise ChecksumMismatch(msg, expected=str(manifest.size), actual=str(total))
    get_run_logger().info("Verified %s: %d bytes in %d segment(s)", where, total, len(names))
    return ExportedObject(container=container, object=name, size=total, segments=len(names))


@step("compare-disk-images", retries=0)
def compare_disk_images(exported: Path, original: Path) -> bool:
    """``qemu-img compare`` the export with the original; ``DiskImageError`` if they differ."""
    if not original.is_file():
        msg = f"cannot compare with {str(original)!r}: the file does not exist. Check the path."
        raise DiskImageError(msg)
    fmt = diskimage.probe_format(original)
    same = diskimage.compare(exported, original, fmt_a="vpc", fmt_b=fmt)
    if not same:
        msg = (
            f"the exported image {exported.name} and {str(original)!r} ({fmt}) hold different"
            " disk content; the image is not the one you compared it with."
        )
        raise DiskImageError(msg)
    get_run_logger().info("Exported image %s matches %s", exported.name, original.name)
    return True
