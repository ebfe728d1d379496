"""Copy one image into another account, region or cloud: streamed, or converted here.

A target that takes the source's format as it is gets the bytes streamed from
the source (Cloud Files to Cloud Files, Glance to Glance, or across dialects),
verified on the way, with no copy on this machine. A target that needs another
format (Rackspace takes VHD only; a Glance checks a VHD against its data) gets a
conversion: the source is downloaded once per replication into the work
directory, checked by the safe format gate, converted to the target's format
and uploaded. The report says which targets needed that local copy, and why.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..client import Exported, ImportLimits, Staging
from ..client.objects import UploadResult
from .catalog import import_limits
from .diskimages import (
    DiskImage,
    check_fits,
    convert_disk_image,
    import_format,
    inspect_disk_image,
)
from .exports import download_export, stream_formats
from .sources import work_dir
from .transfers import stage_copy, stage_image

__all__ = ["CopyPlan", "SourceBytes", "plan_copy"]

NO_LIMITS = ImportLimits(max_virtual_size=None, max_file_size=None, disk_formats=())


@dataclass
class SourceBytes:
    """Where the source image's bytes are, and its local copy once one was needed."""

    account: str
    region: str
    exported: Exported
    stem: str
    _local: DiskImage | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def local_copy(self) -> DiskImage:
        """Download the bytes once (for every target that needs them here) and check them."""
        with self._lock:
            if self._local is None:
                dest = work_dir() / f"{self.stem}.source.{self.exported.disk_format}"
                dest.parent.mkdir(parents=True, exist_ok=True)
                download_export(self.account, self.region, self.exported, dest)
                claimed = "vpc" if self.exported.disk_format == "vhd" else self.exported.disk_format
                self._local = inspect_disk_image(dest, limits=NO_LIMITS, claimed_format=claimed)
            return self._local

    def clean_up(self) -> None:
        """Delete what was made here: the download and every conversion of it."""
        for leftover in work_dir().glob(f"{self.stem}.*"):
            leftover.unlink(missing_ok=True)


@dataclass(frozen=True)
class CopyPlan:
    """How one target gets the bytes: streamed, or converted here (and why)."""

    disk_format: str
    local_copy: str | None  # why a local copy was made; None: streamed


def plan_copy(source: SourceBytes, account: str, region: str) -> CopyPlan:
    """Stream when the target takes the source's format as it is; else convert here."""
    fmt = source.exported.disk_format
    takes = stream_formats(account, region)
    if fmt in takes:
        return CopyPlan(disk_format=fmt, local_copy=None)
    limits = import_limits(account, region)
    wanted = import_format(source.local_copy(), limits.disk_formats)
    why = (
        f"{account} ({region}) does not take {fmt} as it is"
        f" ({', '.join(sorted(takes)) or 'no stream'}): converted to {wanted} on this machine"
    )
    return CopyPlan(disk_format=wanted, local_copy=why)


def copy_bytes(
    source: SourceBytes,
    plan: CopyPlan,
    *,
    account: str,
    region: str,
    staging: Staging,
    name: str,
    segment_size: int,
) -> UploadResult:
    """Put the source's bytes into the target's staging, as the plan says."""
    if plan.local_copy is None:
        return stage_copy(
            source.account,
            source.region,
            source.exported,
            target=account,
            target_region=region,
            staging=staging,
            name=name,
            segment_size=segment_size,
        )
    local = source.local_copy()
    converted = convert_disk_image(local, plan.disk_format, work_dir(), stem=source.stem)
    check_fits(converted, import_limits(account, region), where=f"{account} ({region})")
    return stage_image(
        account,
        region,
        Path(converted.path),
        staging,
        name=name,
        disk_format=plan.disk_format,
        segment_size=segment_size,
    )
