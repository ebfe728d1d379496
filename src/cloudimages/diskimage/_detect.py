"""Format detection with oslo.utils' format inspector: the one seam to that library.

The inspector is what Glance, Nova and Cinder answered CVE-2024-32498 with: it
reads only the headers it needs, in pure Python, and its safety checks flag
qcow2 backing and data files, VMDK descriptors that name other files, and
formats nobody should open. Its quirks are handled here: it can raise
anything on hostile bytes (so every failure means "cannot be inspected"), it
calls a file ``raw`` when nothing matched, and it sees a VHD only by the footer
copy at its start (a fixed VHD has none; ``_vhd`` reads the end).
"""

from __future__ import annotations

import logging
import struct
from typing import IO, BinaryIO, cast

from oslo_utils.imageutils import format_inspector as fi

CHUNK = 64 * 1024
VHDX_FILE_PARAMETERS = "CAA16737-FA36-4D43-B3B6-33F0AA44E76B"
VHDX_PARENT_LOCATOR = "A8D35F2D-B30B-454D-ABF7-D3D84834AB0C"
_VHDX_HAS_PARENT = 0x2

Inspector = fi.FileInspector

# Its findings become our typed errors; its own warnings about them would be noise.
logging.getLogger(fi.__name__).addHandler(logging.NullHandler())


class InspectionFailed(Exception):
    """The inspector itself failed on these bytes; the message says how."""


class _Reader:
    """Lends an open file to the wrapper, which would close it when it is done."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f

    def read(self, size: int) -> bytes:
        return self._f.read(size)


def detect(f: BinaryIO) -> list[Inspector]:
    """Every format whose inspector matched (``raw`` alone when none did).

    Reads from the start until all inspectors have decided, which is a few
    MiB at most, except for a stream-optimized VMDK (its footer is at the end).
    """
    f.seek(0)
    wrapper = fi.InspectWrapper(cast(IO[bytes], _Reader(f)))
    try:
        while wrapper.read(CHUNK) and wrapper.formats is None:
            pass
        wrapper.close()
        found = wrapper.formats
    except Exception as err:  # fail closed: hostile bytes can make it raise anything
        raise InspectionFailed(f"{type(err).__name__}: {err}") from err
    if not found:
        raise InspectionFailed("no format decided after reading the whole file")
    return found


def safety_failures(inspector: Inspector) -> dict[str, str]:
    """The inspector's failed safety checks, by name, with its reasons.

    ``incomplete`` stands for a header the inspector could not read whole.
    """
    try:
        inspector.safety_check()
    except fi.SafetyCheckFailed as failed:
        return {name: str(reason) for name, reason in failed.failures.items()}
    except fi.ImageFormatError as err:
        return {"incomplete": str(err)}
    return {}


def virtual_size(inspector: Inspector) -> int:
    """The size the header declares, 0 when it cannot be read."""
    try:
        return int(inspector.virtual_size)
    except Exception:  # fail closed: 0 is refused by the caller
        return 0


def vhdx_has_parent(inspector: Inspector, f: BinaryIO) -> bool:
    """Whether a VHDX is a differencing disk: a parent locator, or the HasParent flag.

    The inspector finds the metadata table but does not look at these two
    items; qemu refuses such disks today, but the gate should not rely on it.
    """
    find = getattr(inspector, "_find_meta_entry", None)
    if find is None or not inspector.has_region("metadata"):
        raise InspectionFailed("the VHDX metadata table was not found")
    try:
        locator, params = find(VHDX_PARENT_LOCATOR), find(VHDX_FILE_PARAMETERS)
    except Exception as err:  # fail closed, as in detect()
        raise InspectionFailed(f"{type(err).__name__}: {err}") from err
    if locator is not None:
        return True
    if params is None:
        return False
    f.seek(params.offset + 4)
    flags = f.read(4)
    return len(flags) == 4 and bool(struct.unpack("<I", flags)[0] & _VHDX_HAS_PARENT)
