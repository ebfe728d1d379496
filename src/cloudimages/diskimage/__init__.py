"""Disk images: a safe inspection gate, then qemu-img to read, check, convert and compare.

Open an image from anywhere in two steps: :func:`inspect_image` reads it in
Python with oslo.utils' format inspector, refuses what names files outside
itself or is over a limit, and says its format; then every qemu-img call
(:func:`info`, :func:`check`, :func:`convert`, :func:`compare`) gets that
format as ``-f``, so qemu-img never probes. VHD footers are read in pure
Python (:func:`detect_vhd`) because qemu probes a fixed VHD as ``raw``.
"""

from __future__ import annotations

from ._commands import CheckResult, ImageInfo, check, compare, convert, info
from ._gate import IMPORTABLE, Inspection, inspect_image, probe_format
from ._runner import INSTALL_HINT, QEMU_IMG_ENV
from ._vhd import VhdFooter, detect_vhd

__all__ = [
    "IMPORTABLE",
    "INSTALL_HINT",
    "QEMU_IMG_ENV",
    "CheckResult",
    "ImageInfo",
    "Inspection",
    "VhdFooter",
    "check",
    "compare",
    "convert",
    "detect_vhd",
    "info",
    "inspect_image",
    "probe_format",
]
