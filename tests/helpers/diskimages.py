"""Factories for real disk images, made with qemu-img and qemu-io, for tests.

They call the binaries directly rather than through ``cloudimages.diskimage``,
so a bug in the wrapper cannot hide behind a matching bug in the fixtures.
Images are a few MiB so a test that makes several stays fast.
"""

from __future__ import annotations

import random
import struct
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Literal

Factory = Callable[[Path], Path]
CorruptKind = Literal["refcount", "l2_past_eof"]
Subformat = Literal["dynamic", "fixed"]

MIB = 1024 * 1024
DEFAULT_SIZE = 4 * MIB

#: Where make_raw puts data: (offset, length). The rest of the disk reads as zeros.
RANDOM_EXTENTS = ((0, 64 * 1024), (1 * MIB + 4096, 256 * 1024))
PATTERN_OFFSET, PATTERN_LENGTH, PATTERN_BYTE = 3 * MIB, 512 * 1024, 0x5A

_VHD_FOOTER = 512
_VHD_TYPES = {"fixed": 2, "dynamic": 3, "differencing": 4}


def _tool(*args: str) -> None:
    """Run qemu-img or qemu-io, failing loudly with their stderr."""
    subprocess.run(args, check=True, capture_output=True, text=True)


def make_raw(directory: Path, name: str = "disk.raw", *, size: int = DEFAULT_SIZE) -> Path:
    """A sparse raw disk with random data at RANDOM_EXTENTS and a 0x5a pattern."""
    path = directory / name
    _tool("qemu-img", "create", "-q", "-f", "raw", str(path), str(size))
    rng = random.Random(name)
    with path.open("r+b") as f:
        for offset, length in RANDOM_EXTENTS:
            f.seek(offset)
            f.write(rng.randbytes(length))
    pattern = f"write -P {PATTERN_BYTE} {PATTERN_OFFSET} {PATTERN_LENGTH}"
    _tool("qemu-io", "-f", "raw", "-c", pattern, str(path))
    return path


def make_qcow2(directory: Path, name: str = "disk.qcow2", *, size: int = DEFAULT_SIZE) -> Path:
    """A qcow2 holding the same content as make_raw."""
    raw = make_raw(directory, f"{name}.src.raw", size=size)
    path = directory / name
    _tool("qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(path))
    raw.unlink()
    return path


def make_vhd(
    directory: Path,
    subformat: Subformat,
    name: str | None = None,
    *,
    size: int = DEFAULT_SIZE,
) -> Path:
    """A VHD (force_size=on, so its virtual size is exactly ``size``) of make_raw content."""
    raw = make_raw(directory, f"{subformat}.src.raw", size=size)
    path = directory / (name or f"{subformat}.vhd")
    options = f"subformat={subformat},force_size=on"
    _tool("qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", options, str(raw), str(path))
    raw.unlink()
    return path


def make_qcow2_with_backing(directory: Path, name: str = "overlay.qcow2") -> Path:
    """A qcow2 overlay whose backing file is a qcow2 next to it, named ``base.qcow2``."""
    base = make_qcow2(directory, "base.qcow2")
    path = directory / name
    _tool("qemu-img", "create", "-q", "-f", "qcow2", "-b", base.name, "-F", "qcow2", str(path))
    return path


def _qcow2_u64(path: Path, offset: int) -> int:
    with path.open("rb") as f:
        f.seek(offset)
        (value,) = struct.unpack(">Q", f.read(8))
    return int(value)


def _cluster_size(path: Path) -> int:
    with path.open("rb") as f:
        f.seek(20)
        (bits,) = struct.unpack(">I", f.read(4))
    return 1 << int(bits)


def make_corrupt_qcow2(
    directory: Path,
    kind: CorruptKind = "refcount",
    name: str = "corrupt.qcow2",
) -> Path:
    """A qcow2 that ``qemu-img check`` calls corrupt (exit 2).

    ``refcount`` zeroes the first refcount block, so every cluster is in use
    with refcount 0; ``l2_past_eof`` points the first data cluster at 1 TiB.
    """
    path = make_qcow2(directory, name)
    offset_mask = 0x00FF_FFFF_FFFF_FE00
    if kind == "refcount":
        table = _qcow2_u64(path, 48) & offset_mask
        target, data = _qcow2_u64(path, table) & offset_mask, bytes(_cluster_size(path))
    else:
        l2 = _qcow2_u64(path, _qcow2_u64(path, 40) & offset_mask) & offset_mask
        target, data = l2, struct.pack(">Q", (1 << 63) | (1 << 40))
    with path.open("r+b") as f:
        f.seek(target)
        f.write(data)
    return path


def make_leaky_qcow2(directory: Path, name: str = "leaky.qcow2") -> Path:
    """A qcow2 with one appended cluster that has refcount 1 but no user (exit 3)."""
    path = make_qcow2(directory, name)
    cluster = _cluster_size(path)
    block = _qcow2_u64(path, _qcow2_u64(path, 48) & 0x00FF_FFFF_FFFF_FE00)
    end = path.stat().st_size
    with path.open("r+b") as f:
        f.seek(end)
        f.write(bytes(cluster))
        f.seek(block + 2 * (end // cluster))  # 16-bit refcount entries
        f.write(struct.pack(">H", 1))
    return path


def make_truncated(directory: Path, name: str = "truncated.qcow2") -> Path:
    """A qcow2 cut to half its length, as an interrupted download leaves it."""
    path = make_qcow2(directory, name)
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size // 2)
    return path


def make_not_an_image(directory: Path, name: str = "notes.txt") -> Path:
    """A small text file; qemu's probe calls it raw, a qcow2 open refuses it."""
    path = directory / name
    path.write_text("these are not the sectors you are looking for\n" * 40)
    return path


def vhd_checksum(footer: bytes) -> int:
    """Ones' complement of the sum of the footer's bytes, the checksum field left out."""
    return ~(sum(footer[:64]) + sum(footer[68:])) & 0xFFFF_FFFF


def patch_vhd_footer(
    path: Path,
    *,
    disk_type: int | None = None,
    unique_id: uuid.UUID | None = None,
    fix_checksum: bool = True,
) -> None:
    """Rewrite fields of a VHD's footer (and its copy at offset 0, if there is one)."""
    size = path.stat().st_size
    with path.open("r+b") as f:
        for offset in (size - _VHD_FOOTER, 0):
            f.seek(offset)
            footer = bytearray(f.read(_VHD_FOOTER))
            if not footer.startswith(b"conectix"):
                continue
            if disk_type is not None:
                footer[60:64] = struct.pack(">I", disk_type)
            if unique_id is not None:
                footer[68:84] = unique_id.bytes
            if fix_checksum:
                footer[64:68] = struct.pack(">I", vhd_checksum(bytes(footer)))
            f.seek(offset)
            f.write(footer)


def make_vhd_variant(
    directory: Path,
    *,
    disk_type: Literal["fixed", "dynamic", "differencing"] = "dynamic",
    unique_id: uuid.UUID | None = None,
    fix_checksum: bool = True,
    name: str = "variant.vhd",
) -> Path:
    """A dynamic VHD whose footer claims another type or id, e.g. differencing or zero UUID."""
    path = make_vhd(directory, "dynamic", name)
    patch_vhd_footer(
        path, disk_type=_VHD_TYPES[disk_type], unique_id=unique_id, fix_checksum=fix_checksum
    )
    return path
