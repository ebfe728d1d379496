"""The names of the outside files an image refers to, for messages only.

The decision to refuse is the format inspector's; these bounded reads only
let the message say *which* file qemu-img would have read ("… names an
external data file '/etc/passwd'"). Every read is capped, and anything odd
gives no name rather than an error.
"""

from __future__ import annotations

import re
import struct
from typing import BinaryIO

_MAX_NAME = 1023  # qemu's own limit for a qcow2 backing file name
_MAX_EXTENSIONS = 64 * 1024
_QCOW2_DATA_FILE_EXT = 0x44415441  # "DATA"
_EXTENT = re.compile(rb'^\s*(?:rw|rdonly|noaccess)\s+\d+\s+\w+\s+"([^"]*)"', re.I | re.M)


def qcow2_backing_file(f: BinaryIO, header: bytes) -> str | None:
    """The backing file name a qcow2 header points at, if it can be read."""
    if len(header) < 20:
        return None
    offset, size = struct.unpack_from(">QI", header, 8)
    if offset == 0 or size == 0:
        return None
    f.seek(offset)
    return _text(f.read(min(size, _MAX_NAME)))


def qcow2_data_file(f: BinaryIO, header: bytes) -> str | None:
    """The external data file name in a qcow2's header extensions, if there is one."""
    if len(header) < 104:
        return None
    version, cluster_bits = struct.unpack_from(">I", header, 4)[0], header[23]
    start = struct.unpack_from(">I", header, 100)[0] if version >= 3 else 72
    end = min(1 << min(cluster_bits, 21), start + _MAX_EXTENSIONS)
    f.seek(start)
    area = f.read(max(0, end - start))
    pos = 0
    while pos + 8 <= len(area):
        kind, length = struct.unpack_from(">II", area, pos)
        if kind == 0:
            return None
        if kind == _QCOW2_DATA_FILE_EXT:
            return _text(area[pos + 8 : pos + 8 + min(length, _MAX_NAME)])
        pos += 8 + (length + 7) // 8 * 8
    return None


def vmdk_extents(descriptor: bytes) -> tuple[str, ...]:
    """The file names of a VMDK descriptor's extent lines, as written."""
    text = descriptor.split(b"\0", 1)[0]
    return tuple(_text(name) for name in _EXTENT.findall(text))


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")
