"""qemu-img's commands, wrapped: info, check, convert and compare.

Each takes the image's format explicitly and passes it as ``-f``: qemu-img
never probes a file, because a probe trusts the file to say what it is (a raw
disk whose guest wrote a qcow2 header would be read as that qcow2, with its
backing file). Get the format from :func:`cloudimages.diskimage.inspect_image`
first; it also refuses images that name files outside themselves.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ._runner import parse_json, run

_PROGRESS = re.compile(r"\((\d+(?:\.\d+)?)/100%\)")
_CHECK_UNSUPPORTED = 63

StrPath = str | os.PathLike[str]


class ImageInfo(BaseModel):
    """What ``qemu-img info`` says about an image; unknown keys are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    filename: str = ""
    format: str
    virtual_size: int = Field(alias="virtual-size")
    actual_size: int | None = Field(default=None, alias="actual-size")
    cluster_size: int | None = Field(default=None, alias="cluster-size")
    backing_filename: str | None = Field(default=None, alias="backing-filename")
    dirty_flag: bool = Field(default=False, alias="dirty-flag")
    encrypted: bool = False
    format_specific: dict[str, Any] = Field(default_factory=dict, alias="format-specific")


class CheckResult(BaseModel):
    """The outcome of ``qemu-img check``; ``supported=False`` for formats without checks."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    supported: bool = True
    corruptions: int = 0
    leaks: int = 0
    check_errors: int = Field(default=0, alias="check-errors")
    image_end_offset: int | None = Field(default=None, alias="image-end-offset")

    @property
    def clean(self) -> bool:
        """True when qemu-img found no corruption, leak or check error."""
        return self.corruptions == 0 and self.leaks == 0 and self.check_errors == 0


def info(path: StrPath, *, fmt: str) -> ImageInfo:
    """Describe an image read as ``fmt``, including any backing file so callers can refuse it.

    ``-U`` lets it read an image another process holds open.
    """
    proc = run(
        ["info", "-U", "--output=json", "-f", fmt, os.fspath(path)],
        what=f"info on {os.fspath(path)!r} as {fmt}",
        advice=f"Make sure the file exists, is readable and really is a {fmt} image.",
    )
    return ImageInfo.model_validate(parse_json(proc, f"info on {os.fspath(path)!r}"))


def check(path: StrPath, *, fmt: str) -> CheckResult:
    """Check an image's metadata; a format without checks gives ``supported=False``."""
    proc = run(
        ["check", "--output=json", "-f", fmt, os.fspath(path)],
        what=f"check of {os.fspath(path)!r} as {fmt}",
        advice=f"Make sure the file exists, is readable and really is a {fmt} image.",
        ok=(0, 2, 3, _CHECK_UNSUPPORTED),
    )
    if proc.returncode == _CHECK_UNSUPPORTED:
        return CheckResult(supported=False)
    return CheckResult.model_validate(parse_json(proc, f"check of {os.fspath(path)!r}"))


def convert(
    src: StrPath,
    dst: StrPath,
    *,
    src_fmt: str,
    dst_fmt: str,
    vhd_subformat: Literal["dynamic", "fixed"] | None = None,
    progress: Callable[[float], None] | None = None,
    flush: bool = True,
) -> None:
    """Convert ``src`` into ``dst``; ``dst`` appears only once the conversion succeeded.

    VHD output always gets ``force_size=on`` so its virtual size equals the
    source's, not a CHS-rounded one. ``progress`` receives increasing
    percentages (0.0 to 100.0) while qemu-img works. ``flush=False`` skips
    qemu-img's closing flush to disk (``-t unsafe``), which costs as much as the
    conversion: for output that is read back at once and that a power cut may
    lose, such as a server's files that are written without fsync anyway.
    """
    dst_path = Path(dst)
    # ".<name>.<random>.<pid>.part": a run that sweeps its work dir can tell a dead run's file
    tmp = dst_path.with_name(f".{dst_path.name}.{uuid.uuid4().hex[:8]}.{os.getpid()}.part")
    args = ["convert", "-f", src_fmt, "-O", dst_fmt, *_vhd_options(dst_fmt, vhd_subformat)]
    if not flush:
        args += ["-t", "unsafe"]
    if progress is not None:
        args.append("-p")
    try:
        run(
            [*args, os.fspath(src), os.fspath(tmp)],
            what=f"conversion of {os.fspath(src)!r} ({src_fmt}) to {dst_fmt} at {str(dst_path)!r}",
            advice=f"Check that the source really is {src_fmt}, and the destination has space.",
            on_output=None if progress is None else _progress_parser(progress),
        )
        tmp.replace(dst_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def compare(a: StrPath, b: StrPath, *, fmt_a: str, fmt_b: str, strict: bool = False) -> bool:
    """Tell whether two images hold the same guest-visible content.

    Not strict, a size difference is ignored when the extra area reads as
    zeros. Strict (``-s``) also fails on any size difference *and* on any
    difference in which blocks are allocated, so a sparse raw and its qcow2
    copy differ under strict even with the same content.
    """
    args = ["compare", "-f", fmt_a, "-F", fmt_b, *(["-s"] if strict else [])]
    proc = run(
        [*args, os.fspath(a), os.fspath(b)],
        what=f"comparison of {os.fspath(a)!r} ({fmt_a}) with {os.fspath(b)!r} ({fmt_b})",
        advice="Check that both files exist, are readable and have the formats given.",
        ok=(0, 1),
    )
    return proc.returncode == 0


def _vhd_options(dst_fmt: str, subformat: str | None) -> list[str]:
    """The ``-o`` options that make a VHD's virtual size exact."""
    if dst_fmt != "vpc":
        if subformat is not None:
            msg = f"vhd_subformat={subformat!r} only applies to dst_fmt='vpc', not {dst_fmt!r}"
            raise ValueError(msg)
        return []
    return ["-o", f"subformat={subformat or 'dynamic'},force_size=on"]


def _progress_parser(callback: Callable[[float], None]) -> Callable[[str], None]:
    """Turn qemu-img's ``(12.34/100%)`` lines into callback calls with rising values."""
    last = -1.0

    def feed(line: str) -> None:
        nonlocal last
        match = _PROGRESS.search(line)
        if match is not None and float(match.group(1)) > last:
            last = float(match.group(1))
            callback(last)

    return feed
