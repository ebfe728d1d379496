"""The safe inspection gate: what a disk image is, and whether qemu-img may open it.

A disk image can name other files: a qcow2 backing file or external data
file, VMDK extents, a VHD or VHDX parent. qemu-img follows those names and
reads the files into the image (CVE-2024-32498), so an image from someone else
could carry this machine's ``/etc/passwd`` into the cloud. The gate reads the
file in Python with the field's format inspector before qemu-img ever sees it,
refuses anything that refers outside itself, and names the format so every
later qemu-img call can pass ``-f`` instead of letting qemu probe.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from cloudimages.errors import (
    DiskFormatMismatch,
    DiskImageError,
    DiskImageTooLarge,
    UnsafeDiskImage,
    UnsupportedDiskFormat,
)

from . import _detect, _messages
from ._vhd import VHD_COOKIE, VhdFooter, footer_at_end, read_footer

StrPath = str | os.PathLike[str]

#: The formats the gate lets through, in qemu-img's names.
IMPORTABLE = frozenset({"raw", "qcow2", "vpc", "vhdx", "vmdk", "vdi"})
#: The inspector's names in qemu-img's; a GPT or MBR partition table is a raw disk.
_QEMU_NAMES = {"gpt": "raw", "vhd": "vpc"}
#: What a ``--format`` value or a file name's extension claims; ``.img`` is used
#: for raw disks and for qcow2 cloud images alike (Ubuntu, CirrOS).
CLAIMS: dict[str, frozenset[str]] = {
    "qcow2": frozenset({"qcow2"}),
    "vmdk": frozenset({"vmdk"}),
    "vhd": frozenset({"vpc"}),
    "vpc": frozenset({"vpc"}),
    "vhdx": frozenset({"vhdx"}),
    "vdi": frozenset({"vdi"}),
    "raw": frozenset({"raw"}),
    "img": frozenset({"raw", "qcow2"}),
    "iso": frozenset({"iso"}),
}
_SECTOR = 512


@dataclass(frozen=True)
class Inspection:
    """What the gate found: the format qemu-img must be told, and the sizes."""

    path: Path
    """The file inspected, symbolic links resolved; give this one to qemu-img."""
    format: str
    """qemu-img's name for the format: raw, qcow2, vpc (VHD), vhdx, vmdk or vdi."""
    virtual_size: int
    """The disk's size as its header declares it (a raw disk: the file size)."""
    file_size: int
    vhd_type: Literal["fixed", "dynamic"] | None = None
    """For a VHD, whether it is fixed or dynamic (differencing ones are refused)."""
    claimed_format: str | None = None
    """The claim the format was checked against (``--format`` or the extension)."""


@dataclass(frozen=True)
class _Found:
    format: str
    virtual_size: int
    vhd_type: Literal["fixed", "dynamic"] | None = None


def inspect_image(
    path: StrPath,
    *,
    claimed_format: str | None = None,
    max_virtual_size: int | None = None,
    max_file_size: int | None = None,
    name: str | None = None,
) -> Inspection:
    """Inspect a disk image without qemu-img and refuse what must not be opened or imported.

    Args:
        path: The image file. A symbolic link is followed; the result names its target.
        claimed_format: What the user says it is (``qcow2``, ``vhd``/``vpc``, ``vmdk``,
            ``vhdx``, ``vdi``, ``raw``, ``iso``); None takes the claim from the file
            name's extension, and an unknown extension claims nothing.
        max_virtual_size: Largest virtual size accepted, in bytes; None for no limit.
        max_file_size: Largest file accepted, in bytes; None for no limit.
        name: What to call the file in messages, when its path means nothing to the
            reader (a server's staging copy of an upload); the path by default.

    Raises:
        UnsafeDiskImage: it names files outside itself (backing file, data file,
            extents, parent disk), looks like two formats at once, fails the
            inspector's safety checks, or is not a regular file.
        UnsupportedDiskFormat: a format recognised but not importable (ISO,
            LUKS, QED, qcow v1, encrypted qcow2, compressed or archived files).
        DiskFormatMismatch: the bytes are not the claimed format.
        DiskImageTooLarge: over ``max_virtual_size`` or ``max_file_size``.
        DiskImageError: missing, unreadable, empty, or not a disk image at all.
    """
    claim = claimed_formats(path, claimed_format)
    where = name or str(path)
    with _open_regular(path) as (f, real, size):
        _check_limit(where, "file", size, max_file_size)
        if size == 0:
            raise DiskImageError(_messages.empty(where))
        found = _identify(f, where, size)
    if claim is not None and found.format not in claim[1]:
        msg = _messages.mismatch(where, claim[0], found.format)
        raise DiskFormatMismatch(msg, path=where, detected=found.format, claimed=claim[0])
    _check_limit(where, "virtual", found.virtual_size, max_virtual_size)
    return Inspection(
        path=real,
        format=found.format,
        virtual_size=found.virtual_size,
        file_size=size,
        vhd_type=found.vhd_type,
        claimed_format=claim[0] if claim else None,
    )


def probe_format(path: StrPath) -> str:
    """Name the image's format (qemu-img's name) through the gate: no qemu-img probe."""
    return inspect_image(path).format


def claimed_formats(path: StrPath, claimed: str | None) -> tuple[str, frozenset[str]] | None:
    """The claim as written, and the qemu-img formats that satisfy it; None claims nothing."""
    if claimed is None:
        suffix = Path(path).suffix.lower().lstrip(".")
        return (suffix, CLAIMS[suffix]) if suffix in CLAIMS else None
    name = claimed.lower().lstrip(".")
    if name not in CLAIMS:
        msg = f"unknown disk format {claimed!r}; expected one of {', '.join(sorted(CLAIMS))}."
        raise DiskImageError(msg)
    return name, CLAIMS[name]


@contextmanager
def _open_regular(path: StrPath) -> Iterator[tuple[BinaryIO, Path, int]]:
    """Open the file behind ``path``; refuse anything but a regular file, without blocking.

    ``O_NONBLOCK`` keeps a named pipe from hanging the open; ``fstat`` on the
    open descriptor decides, so the file checked is the file read.
    """
    real = Path(os.path.realpath(path))
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError as err:
        raise DiskImageError(_messages.missing(str(path), real)) from err
    except OSError as err:
        raise DiskImageError(_messages.unreadable(str(path), err)) from err
    found = os.fstat(fd)
    if not stat.S_ISREG(found.st_mode):
        os.close(fd)
        msg = _messages.not_a_file(str(path), real, found.st_mode)
        raise UnsafeDiskImage(msg, path=str(path), format="", checks=("regular_file",))
    with os.fdopen(fd, "rb") as f:
        yield f, real, found.st_size


def _identify(f: BinaryIO, where: str, size: int) -> _Found:
    """Detect the format and apply its rules; the format is qemu-img's name for it."""
    try:
        matched = _detect.detect(f)
    except _detect.InspectionFailed as err:
        raise DiskImageError(_messages.uninspectable(where, str(err))) from err
    names = sorted({str(i) for i in matched})
    if "iso" in names:  # a hybrid ISO also carries a partition table
        raise UnsupportedDiskFormat(_messages.unsupported(where, "iso"), path=where, format="iso")
    tail_is_vhd = footer_at_end(f).startswith(VHD_COOKIE)
    formats = sorted({_QEMU_NAMES.get(n, n) for n in names} - {"raw"})
    if formats == ["vpc"] or (tail_is_vhd and not formats):
        return _vhd(f, where)
    if len(formats) > 1 or (formats and tail_is_vhd):
        shown = [*formats, *(["a VHD (by its footer)"] if tail_is_vhd else [])]
        msg = _messages.polyglot(where, shown)
        raise UnsafeDiskImage(msg, path=where, format=formats[0], checks=("one_format",))
    if not formats:
        return _raw(f, where, size)
    inspector = next(i for i in matched if _QEMU_NAMES.get(str(i), str(i)) == formats[0])
    return _formatted(f, where, formats[0], inspector)


def _formatted(f: BinaryIO, where: str, fmt: str, inspector: _detect.Inspector) -> _Found:
    """A recognised format: importable, safe, and with a virtual size."""
    if fmt not in IMPORTABLE or _unsupported_variant(inspector):
        shown = _unsupported_variant(inspector) or fmt
        raise UnsupportedDiskFormat(_messages.unsupported(where, shown), path=where, format=fmt)
    if fmt == "vmdk" and not inspector.has_region("header"):
        _refuse_references(f, where, fmt, inspector, {"descriptor_file": "no sparse header"})
    failures = _detect.safety_failures(inspector)
    if fmt == "vhdx" and _vhdx_has_parent(inspector, f, where):
        failures["parent"] = "the VHDX has a parent disk"
    if failures:
        _refuse_references(f, where, fmt, inspector, failures)
    virtual = _detect.virtual_size(inspector)
    if virtual <= 0:
        raise DiskImageError(_messages.no_virtual_size(where, fmt))
    return _Found(fmt, virtual)


def _unsupported_variant(inspector: _detect.Inspector) -> str | None:
    """qcow version 1 and encrypted qcow2: recognised by the qcow2 inspector, not importable."""
    if str(inspector) != "qcow2" or not inspector.has_region("header"):
        return None
    header = bytes(inspector.region("header").data)
    version = int.from_bytes(header[4:8], "big")
    if version not in (2, 3):
        return "qcow1" if version == 1 else f"qcow{version}"
    return "encrypted-qcow2" if int.from_bytes(header[32:36], "big") else None


def _vhdx_has_parent(inspector: _detect.Inspector, f: BinaryIO, where: str) -> bool:
    try:
        return _detect.vhdx_has_parent(inspector, f)
    except _detect.InspectionFailed as err:
        raise DiskImageError(_messages.uninspectable(where, str(err))) from err


def _refuse_references(
    f: BinaryIO, where: str, fmt: str, inspector: _detect.Inspector, failures: dict[str, str]
) -> None:
    """Raise ``UnsafeDiskImage`` naming the outside files the image refers to."""
    refs = _messages.references(f, fmt, inspector, failures)
    msg = _messages.unsafe(where, fmt, failures, refs)
    raise UnsafeDiskImage(msg, path=where, format=fmt, references=refs, checks=tuple(failures))


def _vhd(f: BinaryIO, where: str) -> _Found:
    """A VHD, read by its footer: fixed or dynamic, never differencing."""
    try:
        footer: VhdFooter | None = read_footer(f, where)
    except DiskImageError as err:
        raise UnsupportedDiskFormat(str(err), path=where, format="vpc") from err
    assert footer is not None  # the caller saw the cookie
    if footer.disk_type == "differencing":
        msg = _messages.unsafe(where, "vpc", {"parent": "differencing VHD"}, ())
        raise UnsafeDiskImage(msg, path=where, format="vpc", checks=("parent",))
    return _Found("vpc", footer.current_size, footer.disk_type)


def _raw(f: BinaryIO, where: str, size: int) -> _Found:
    """No format matched: a raw disk, unless it is a compressed file or not sector-sized."""
    f.seek(0)
    kind = _messages.packed_kind(f.read(_SECTOR))
    if kind is not None:
        raise UnsupportedDiskFormat(_messages.unsupported(where, kind), path=where, format=kind)
    if size % _SECTOR:
        raise DiskImageError(_messages.not_a_disk(where, size))
    return _Found("raw", size)


def _check_limit(
    where: str, measure: Literal["virtual", "file"], size: int, limit: int | None
) -> None:
    if limit is not None and size > limit:
        msg = _messages.too_large(where, measure, size, limit)
        raise DiskImageTooLarge(msg, path=where, measure=measure, size=size, limit=limit)
