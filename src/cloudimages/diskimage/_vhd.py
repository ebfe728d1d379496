"""VHD footers, read in pure Python.

qemu's probe calls a fixed VHD ``raw`` (its only footer is at the end), and
the format inspector only sees the copy at the start of dynamic and
differencing disks, so the footer decides: its disk type (a differencing disk
has a parent), its size and its identity.
"""

from __future__ import annotations

import os
import struct
import uuid
from dataclasses import dataclass
from typing import BinaryIO, Literal

from cloudimages.errors import DiskImageError

FOOTER_SIZE = 512
VHD_COOKIE = b"conectix"
_DISK_TYPES: dict[int, Literal["fixed", "dynamic", "differencing"]] = {
    2: "fixed",
    3: "dynamic",
    4: "differencing",
}

StrPath = str | os.PathLike[str]


@dataclass(frozen=True)
class VhdFooter:
    """The fields of a VHD footer that decide how to read and import the disk."""

    disk_type: Literal["fixed", "dynamic", "differencing"]
    current_size: int
    unique_id: uuid.UUID
    checksum_ok: bool


def detect_vhd(path: StrPath) -> VhdFooter | None:
    """Read a VHD footer from the end of the file, or the copy at its start.

    Returns None when neither place holds the ``conectix`` cookie. The start
    copy only exists on dynamic and differencing disks, and rescues one whose
    tail was cut off.
    """
    try:
        with open(path, "rb") as f:
            return read_footer(f, path)
    except OSError as exc:
        msg = f"Could not read {os.fspath(path)!r} to look for a VHD footer: {exc}."
        raise DiskImageError(msg) from exc


def read_footer(f: BinaryIO, path: StrPath) -> VhdFooter | None:
    """:func:`detect_vhd` on a file that is open already; ``path`` names it in errors."""
    tail = footer_at_end(f)
    f.seek(0)
    head = f.read(FOOTER_SIZE)
    for block in (tail, head):
        if block.startswith(VHD_COOKIE) and len(block) == FOOTER_SIZE:
            return _parse_footer(block, path)
    return None


def footer_at_end(f: BinaryIO) -> bytes:
    """The last 512 bytes of the file, or ``b""`` when it is shorter."""
    size = f.seek(0, os.SEEK_END)
    if size < FOOTER_SIZE:
        return b""
    f.seek(size - FOOTER_SIZE)
    return f.read(FOOTER_SIZE)


def _parse_footer(block: bytes, path: StrPath) -> VhdFooter:
    """Decode the big-endian footer fields; the checksum is checked, not enforced."""
    (current_size,) = struct.unpack_from(">Q", block, 48)
    disk_type, checksum = struct.unpack_from(">II", block, 60)
    if disk_type not in _DISK_TYPES:
        msg = (
            f"{os.fspath(path)!r} has a VHD footer with disk type {disk_type}, which is "
            "not fixed (2), dynamic (3) or differencing (4). Re-export the disk as a VHD."
        )
        raise DiskImageError(msg)
    return VhdFooter(
        disk_type=_DISK_TYPES[disk_type],
        current_size=current_size,
        unique_id=uuid.UUID(bytes=block[68:84]),
        checksum_ok=checksum == _vhd_checksum(block),
    )


def _vhd_checksum(footer: bytes) -> int:
    """The VHD checksum: ones' complement of the byte sum, skipping the checksum field."""
    total = sum(footer[:64]) + sum(footer[68:FOOTER_SIZE])
    return ~total & 0xFFFFFFFF
