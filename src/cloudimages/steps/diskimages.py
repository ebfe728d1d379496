"""Disk-image steps: inspect and check a source, convert it to a format the target takes.

Rackspace Cloud Images imports one fixed or dynamic VHD with no parent: anything
else is converted to a dynamic VHD with ``force_size`` (so the virtual size is
exact). An OpenStack Glance takes the formats its image schema lists: the
source's format is kept when it is one of them, else it is converted (qcow2
first). ``import_format`` decides; ``convert_disk_image`` converts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from prefect import get_run_logger
from pydantic import BaseModel

from .. import diskimage, progress
from ..client import ImportLimits
from ..errors import DiskImageError
from ._step import step

__all__ = [
    "DiskImage",
    "check_fits",
    "convert_disk_image",
    "glance_format",
    "import_format",
    "inspect_disk_image",
]

#: Formats ``qemu-img check`` understands; the others report "not supported".
CHECKABLE = frozenset({"qcow2", "qed", "vdi", "vhdx", "vmdk", "parallels"})


class DiskImage(BaseModel):
    """A disk image that passed inspection."""

    path: Path
    format: str  # qemu-img's name: vpc (VHD), qcow2, raw…
    virtual_size: int
    size: int
    vhd_type: Literal["fixed", "dynamic"] | None = None

    @property
    def is_importable_vhd(self) -> bool:
        """True when the file can be uploaded as it is (fixed or dynamic VHD)."""
        return self.format == "vpc" and self.vhd_type is not None


@step("inspect-disk-image")
def inspect_disk_image(
    path: Path, *, limits: ImportLimits, claimed_format: str | None = None
) -> DiskImage:
    """Read a disk image's format and size; refuse what the target would never import.

    The safety gate (``diskimage.inspect_image``) runs first, before qemu-img
    opens the file: images that name other files (backing or data files,
    VMDK extents, parent disks), formats that are not disk images, a format
    other than the one claimed (``claimed_format``, else the file name's
    extension) and sizes over the target's ``limits`` are refused with a ``DiskImageError``.
    qemu-img then reads it with the detected format (never probing) and
    ``qemu-img check`` refuses a corrupt one.
    """
    logger = get_run_logger()
    gate = diskimage.inspect_image(
        path,
        claimed_format=claimed_format,
        max_virtual_size=limits.max_virtual_size,
        max_file_size=limits.max_file_size,
    )
    info = diskimage.info(gate.path, fmt=gate.format)
    _refuse_backing_file(path, info)
    _refuse_corrupt(gate.path, gate.format)
    found = DiskImage(
        path=gate.path,
        format=gate.format,
        virtual_size=info.virtual_size,
        size=gate.file_size,
        vhd_type=gate.vhd_type,
    )
    logger.info(
        "Inspected %s: %s image, virtual size %d bytes", path.name, found.format, found.virtual_size
    )
    return found


def _refuse_backing_file(path: Path, info: diskimage.ImageInfo) -> None:
    if info.backing_filename:
        msg = (
            f"{str(path)!r} has a backing file ({info.backing_filename!r}); Cloud Images only"
            " imports standalone disks. Flatten it first: `qemu-img convert -O qcow2"
            f" {path.name} flat.qcow2`."
        )
        raise DiskImageError(msg)


def _refuse_corrupt(path: Path, fmt: str) -> None:
    if fmt not in CHECKABLE:
        return
    result = diskimage.check(path, fmt=fmt)
    if result.supported and result.corruptions:
        msg = (
            f"{str(path)!r} is a corrupt {fmt} image: qemu-img check found"
            f" {result.corruptions} corruption(s). Repair it (`qemu-img check -r all`)"
            " or export the disk again."
        )
        raise DiskImageError(msg)
    if result.supported and result.check_errors:
        msg = (
            f"{str(path)!r} could not be fully checked: qemu-img check reported"
            f" {result.check_errors} error(s). Export the disk again."
        )
        raise DiskImageError(msg)


#: qemu-img's format names where Glance's differ.
GLANCE_NAMES = {"vpc": "vhd"}
QEMU_NAMES = {glance: qemu for qemu, glance in GLANCE_NAMES.items()}
#: Formats a Glance takes as they are (a VHD only when dynamic, raw is better compressed).
KEPT_AS_THEY_ARE = frozenset({"qcow2", "vmdk", "vhdx", "vdi", "iso", "ploop"})
#: What to convert to otherwise, best first.
PREFERRED = ("qcow2", "raw", "vhd")


def glance_format(image: DiskImage) -> str:
    """The image's format in Glance's words (``vpc`` is ``vhd``)."""
    return GLANCE_NAMES.get(image.format, image.format)


def import_format(image: DiskImage, accepted: tuple[str, ...], wanted: str | None = None) -> str:
    """The disk format to import ``image`` as, into a cloud that takes ``accepted``.

    ``wanted`` (the user's ``--disk-format``) wins when the cloud takes it. A cloud
    that takes VHD only (Rackspace) gets a fixed or dynamic VHD; another keeps the
    source's format when it takes it, else gets qcow2 (or raw, or VHD).
    """
    if wanted is not None:
        if wanted not in accepted:
            msg = (
                f"the target does not take {wanted!r} disks; it takes {', '.join(accepted)}."
                " Choose one of those with --disk-format."
            )
            raise DiskImageError(msg)
        return wanted
    source = glance_format(image)
    if "qcow2" not in accepted and "vhd" in accepted:
        return "vhd"
    if source in KEPT_AS_THEY_ARE and source in accepted:
        return source
    chosen = next((fmt for fmt in PREFERRED if fmt in accepted), None)
    if chosen is None:
        msg = f"the target takes only {', '.join(accepted)}; cloudimages cannot convert to those"
        raise DiskImageError(msg)
    return chosen


def needs_conversion(image: DiskImage, disk_format: str) -> bool:
    """Whether ``image`` must be converted to upload it as ``disk_format``."""
    if disk_format == "vhd":
        return not image.is_importable_vhd
    return glance_format(image) != disk_format


@step("convert-disk-image")
def convert_disk_image(
    image: DiskImage, disk_format: str, work_dir: Path, *, stem: str
) -> DiskImage:
    """``image`` as ``disk_format`` (Glance's name): the image itself when it is one already.

    The result is written to ``work_dir/<stem>.<format>``. One left there by an
    earlier run (conversion writes a temporary file and renames it when complete)
    is reused, so a rerun uploads the very same bytes and resumes the upload.
    """
    logger = get_run_logger()
    if not needs_conversion(image, disk_format):
        logger.info("%s is %s already; no conversion needed", image.path.name, disk_format)
        return image
    if disk_format == "vhd":
        return _to_vhd(image, work_dir, stem=stem)
    target = work_dir / f"{stem}.{disk_format}"
    qemu_format = QEMU_NAMES.get(disk_format, disk_format)
    if not _usable(target, qemu_format, image.virtual_size):
        work_dir.mkdir(parents=True, exist_ok=True)
        logger.info("Converting %s (%s) to %s", image.path.name, image.format, disk_format)
        diskimage.convert(image.path, target, src_fmt=image.format, dst_fmt=qemu_format)
    else:
        logger.info("Reusing the %s an earlier run converted: %s", disk_format, target)
    return DiskImage(
        path=target,
        format=qemu_format,
        virtual_size=image.virtual_size,
        size=os.path.getsize(target),
    )


def _usable(path: Path, qemu_format: str, virtual_size: int) -> bool:
    if not path.is_file():
        return False
    try:
        found = diskimage.inspect_image(path, claimed_format=qemu_format)
    except DiskImageError:
        return False
    return found.virtual_size == virtual_size


def _to_vhd(image: DiskImage, work_dir: Path, *, stem: str) -> DiskImage:
    logger = get_run_logger()
    target = work_dir / f"{stem}.vhd"
    if not _usable_vhd(target, image.virtual_size):
        work_dir.mkdir(parents=True, exist_ok=True)
        logger.info("Converting %s (%s) to a dynamic VHD", image.path.name, image.format)
        with progress.phase(f"Convert {image.path.name}", total=image.virtual_size) as shown:
            diskimage.convert(
                image.path,
                target,
                src_fmt=image.format,
                dst_fmt="vpc",
                vhd_subformat="dynamic",
                progress=shown.percent,
            )
    else:
        logger.info("Reusing the VHD an earlier run converted: %s", target)
    footer = diskimage.detect_vhd(target)
    return DiskImage(
        path=target,
        format="vpc",
        virtual_size=image.virtual_size,
        size=os.path.getsize(target),
        vhd_type="dynamic" if footer is None or footer.disk_type != "fixed" else "fixed",
    )


def _usable_vhd(path: Path, virtual_size: int) -> bool:
    if not path.is_file():
        return False
    footer = diskimage.detect_vhd(path)
    return footer is not None and footer.current_size == virtual_size and footer.checksum_ok


def check_fits(image: DiskImage, limits: ImportLimits, *, where: str) -> None:
    """Refuse a disk the target would refuse for its size, before it is uploaded."""
    gib = 1024**3
    checks = (
        ("virtual size", image.virtual_size, limits.max_virtual_size),
        ("file size", image.size, limits.max_file_size),
    )
    for what, size, limit in checks:
        if limit is not None and size > limit:
            msg = (
                f"{str(image.path)!r} has a {what} of {size / gib:.1f} GiB; {where} imports at"
                f" most {limit / gib:.0f} GiB. Shrink the disk (resize the file system and"
                " the partition, then `qemu-img resize --shrink`) and import it again."
            )
            raise DiskImageError(msg)
