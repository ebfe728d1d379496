"""Glance's in-flight format inspection of uploaded data, and its verdict.

Glance 33 inspects every upload into a ``bare`` container while storing it, then:
the detected format must equal ``disk_format`` (its virtual size is recorded); data
claimed as ``raw`` may be anything (virtual size = bytes); an uninspectable format
(``ami``...) may hold data nothing recognised; anything else is a 415. So a *fixed* VHD,
which carries only a footer, reads as raw and is refused as ``vhd`` (measured).

``HeaderSniffer`` recognises formats by their headers, which is cheap and enough for
the verdict. It is the hook for a safe inspector (``cloudimages.diskimage`` will get
one): anything with ``feed(chunk)`` and ``result() -> Detected`` can replace it through
``InspectorFactory``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..images.errors import UnsupportedMediaType

HEAD_BYTES = 64 * 1024  # every header below sits in the first 64 KiB (ISO: 32 KiB + 6)
INSPECTABLE = frozenset({"raw", "qcow2", "vhd", "vhdx", "vmdk", "vdi", "iso"})


@dataclass(frozen=True)
class Detected:
    """What the data is: its format and, when the header says, its virtual size."""

    format: str
    virtual_size: int | None


class FormatInspector(Protocol):
    def feed(self, chunk: bytes) -> None: ...

    def result(self) -> Detected: ...


InspectorFactory = Callable[[], FormatInspector]


class HeaderSniffer:
    """Reads the first 64 KiB and recognises qcow2, vhd, vhdx, vmdk, vdi and iso headers."""

    def __init__(self) -> None:
        self._head = bytearray()
        self._size = 0

    def feed(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]

    def result(self) -> Detected:
        head = bytes(self._head)
        for check in (_qcow2, _vhd, _vhdx, _vmdk, _vdi, _iso):
            found = check(head)
            if found is not None:
                return found
        return Detected("raw", self._size)


def _u64(head: bytes, offset: int, order: str = ">") -> int | None:
    if len(head) < offset + 8:
        return None
    return int(struct.unpack_from(f"{order}Q", head, offset)[0])


def _qcow2(head: bytes) -> Detected | None:
    return Detected("qcow2", _u64(head, 24)) if head.startswith(b"QFI\xfb") else None


def _vhd(head: bytes) -> Detected | None:
    """A dynamic VHD starts with a copy of its footer: current size at offset 48."""
    return Detected("vhd", _u64(head, 48)) if head.startswith(b"conectix") else None


def _vhdx(head: bytes) -> Detected | None:
    return Detected("vhdx", None) if head.startswith(b"vhdxfile") else None


def _vmdk(head: bytes) -> Detected | None:
    if not head.startswith(b"KDMV"):
        return None
    sectors = _u64(head, 12, "<")
    return Detected("vmdk", sectors * 512 if sectors is not None else None)


def _vdi(head: bytes) -> Detected | None:
    if len(head) < 0x44 or head[0x40:0x44] != b"\x7f\x10\xda\xbe":
        return None
    return Detected("vdi", _u64(head, 0x170, "<"))


def _iso(head: bytes) -> Detected | None:
    if head[0x8001:0x8006] != b"CD001":
        return None
    blocks = struct.unpack_from("<I", head, 0x8050)[0] if len(head) >= 0x8054 else None
    block_size = struct.unpack_from("<H", head, 0x8080)[0] if len(head) >= 0x8082 else 2048
    return Detected("iso", blocks * block_size if blocks is not None else None)


def verdict(
    detected: Detected, *, disk_format: str, container_format: str | None, size: int
) -> int | None:
    """The virtual size Glance records, or its 415 when the data is not what it claims."""
    if container_format != "bare":
        return None  # Glance inspects bare containers only
    if detected.format == disk_format:
        return detected.virtual_size
    if detected.format == "raw" and disk_format not in INSPECTABLE:
        return None
    if disk_format == "raw":
        return size
    msg = f"Image disk_format {disk_format} does not match stream data {detected.format}"
    raise UnsupportedMediaType(msg)
