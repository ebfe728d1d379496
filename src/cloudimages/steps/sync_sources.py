"""Sync steps for sources: the content each image must have, and its bytes fetched once.

Planning needs only each image's content key: the sha256 the spec states (or
its checksum file lists), else, for an image source, the source image itself
(image data never changes once active). Applying fetches a source once for all
its targets, with the import flow's steps: a file is hashed, a URL downloaded,
an image source exported and downloaded; the sha256 is checked against the
spec before anything is uploaded anywhere; then the disk is inspected (the
safety gate) and converted once.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from prefect import get_run_logger
from pydantic import BaseModel

from ..client import ImportLimits, fetch_url
from ..errors import ChecksumMismatch, CloudImagesError, ConfigurationError, DiskImageError
from ..syncspec.model import sha256_of
from ._step import step
from .catalog import get_image, member_id
from .clouds import account_region
from .diskimages import DiskImage, inspect_disk_image
from .exports import discard_export, download_export
from .sequences import deadline_after, export_once
from .sources import fetch_source, work_dir

__all__ = [
    "ImageOrigin",
    "Prepared",
    "fetch_image",
    "fetch_verified",
    "image_origin",
    "prepare_disk",
    "resolve_checksum",
    "sha256_in",
    "url_file_name",
]

MAX_CHECKSUM_FILE = 4 * 1024 * 1024
_GNU = re.compile(r"^([0-9a-fA-F]{64})(?:\s+\*?(.+?))?\s*$")
_BSD = re.compile(r"^SHA256\s*\((.+)\)\s*=\s*([0-9a-fA-F]{64})\s*$")


@step("resolve-checksum")
def resolve_checksum(checksum: str, file_name: str, *, where: str) -> str:
    """The sha256 a checksum field states: its hex, or ``file_name``'s entry in a checksum file."""
    digest = sha256_of(checksum)
    if digest is not None:
        return digest
    with tempfile.TemporaryDirectory(prefix="cloudimages-sums-") as folder:
        try:
            fetched = fetch_url(
                checksum, Path(folder) / "sums", max_size=MAX_CHECKSUM_FILE, stall_timeout=30.0
            )
        except CloudImagesError as error:
            msg = f"{where}: cannot read the checksum file {checksum}: {error} Nothing was changed."
            raise ConfigurationError(msg) from error
        text = fetched.path.read_text(encoding="utf-8", errors="replace")
    found = sha256_in(text, file_name)
    if found is None:
        entries = _entries(text)
        listed = ", ".join(repr(n) for n in list(entries)[:5] if n) or "no file names"
        msg = (
            f"{where}: the checksum file {checksum} has no sha256 for {file_name!r} (it lists"
            f" {len(entries)} entr(ies): {listed}). Check the URL or the source. Nothing was"
            " changed."
        )
        raise ConfigurationError(msg)
    get_run_logger().info("Checksum file %s: %s has sha256 %s", checksum, file_name, found)
    return found


def _entries(text: str) -> dict[str, str]:
    """File name → sha256 of a ``sha256sum`` (GNU or BSD style) file; '' for a bare hash."""
    entries: dict[str, str] = {}
    for line in text.splitlines():
        if gnu := _GNU.match(line.strip()):
            entries[(gnu.group(2) or "").strip()] = gnu.group(1).lower()
        elif bsd := _BSD.match(line.strip()):
            entries[bsd.group(1).strip()] = bsd.group(2).lower()
    return entries


def sha256_in(text: str, file_name: str) -> str | None:
    """The sha256 a checksum file gives ``file_name``, or its one bare hash; else None."""
    entries = _entries(text)
    for name, digest in entries.items():
        if name and PurePosixPath(name.lstrip("*")).name == file_name:
            return digest
    return entries[""] if list(entries) == [""] else None


class ImageOrigin(BaseModel):
    """An image source: where it is, and the provenance its copies record."""

    account: str
    region: str
    image_id: str
    tenant_id: str
    name: str


@step("check-source-image")
def image_origin(account: str, region: str | None, image_id: str, *, where: str) -> ImageOrigin:
    """The source image, which must exist and be active; errors name ``where``."""
    try:
        chosen = account_region(account, region)
        image = get_image(account, chosen, image_id)
        tenant = member_id(account, chosen)
    except CloudImagesError as error:
        msg = f"{where}: {error}"
        raise ConfigurationError(msg) from error
    if image.status != "active":
        msg = f"{where}: image {image_id} is {image.status}, not active; it cannot be a source"
        raise ConfigurationError(msg)
    return ImageOrigin(
        account=account,
        region=chosen,
        image_id=image_id,
        tenant_id=tenant,
        name=image.name or image_id,
    )


class Prepared(BaseModel):
    """A source fetched, verified, inspected and converted: ready for every target."""

    sha256: str
    size: int
    source_name: str
    disk: DiskImage
    work_files: list[Path]  # deleted once every target has its image


def fetch_verified(
    given: str,
    *,
    expected: str | None,
    where: str,
    max_size: int,
    stall_timeout: float,
) -> tuple[Path, str, int, list[Path]]:
    """Hash a file or download a URL, and refuse it unless its sha256 is ``expected``."""
    src = fetch_source(given, work_dir(), max_size=max_size, stall_timeout=stall_timeout)
    files = [src.path] if src.downloaded else []
    if not src.sha256:
        msg = f"{where}: {given} does not exist or is not a file; nothing was changed."
        raise DiskImageError(msg)
    _verify(src.sha256, expected, where=where, given=given, files=files)
    return src.path, src.sha256, src.size, files


def fetch_image(
    origin: ImageOrigin, *, expected: str | None, where: str, container: str, timeout: float
) -> tuple[Path, str, int, list[Path]]:
    """Export the source image once, download it, and delete the export."""
    done = export_once(
        origin.account,
        origin.region,
        origin.image_id,
        container,
        deadline=deadline_after(timeout),
    )
    dest = work_dir() / f"sync-export-{origin.region.lower()}-{origin.image_id}.vhd"
    download_export(origin.account, origin.region, done.exported, dest)
    discard_export(origin.account, origin.region, done.exported)
    src = fetch_source(str(dest), work_dir(), max_size=dest.stat().st_size + 1)
    _verify(src.sha256, expected, where=where, given=str(dest), files=[dest])
    return dest, src.sha256, src.size, [dest]


def _verify(
    actual: str, expected: str | None, *, where: str, given: str, files: list[Path]
) -> None:
    if expected is None or actual == expected:
        return
    for path in files:
        path.unlink(missing_ok=True)
    msg = (
        f"{where}: {given} has sha256 {actual}, but the spec expects {expected}. Nothing was"
        " uploaded anywhere; check the source and the checksum."
    )
    raise ChecksumMismatch(msg, expected=expected, actual=actual)


def prepare_disk(
    path: Path, sha256: str, size: int, files: list[Path], *, name: str, limits: ImportLimits
) -> Prepared:
    """Inspect once (the safety gate, under the strictest target's limits).

    Each target converts it to the format it takes (``diskimages.convert_disk_image``
    writes ``<sha256>.<format>`` once and reuses it), so a VHD is made once for every
    Rackspace target and a qcow2 once for every Glance that wants one.
    """
    disk = inspect_disk_image(path, limits=limits)
    return Prepared(sha256=sha256, size=size, source_name=name, disk=disk, work_files=files)


def url_file_name(url: str) -> str:
    """The file name a URL ends in: what a checksum file lists it as."""
    return PurePosixPath(unquote(urlsplit(url).path)).name
