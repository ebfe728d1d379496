"""qemu-img, wrapped: inspect, check, convert and compare disk images.

Every call runs the qemu-img binary as a subprocess with an argument list
(never a shell) and reads its ``--output=json``. Failures of the binary, or of
starting it, become :class:`~cloudimages.errors.QemuImgError` in one place,
:func:`_run`. VHD footers are read in pure Python because qemu probes a fixed
VHD as ``raw``; pass the format explicitly wherever you know it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cloudimages.errors import DiskImageError, QemuImgError

__all__ = [
    "CheckResult",
    "ImageInfo",
    "VhdFooter",
    "check",
    "compare",
    "convert",
    "detect_vhd",
    "info",
    "probe_format",
]

QEMU_IMG_ENV = "CLOUDIMAGES_QEMU_IMG"
INSTALL_HINT = "Install Debian's qemu-utils package (apt-get install qemu-utils)"

_STDERR_LIMIT = 2000
_PROGRESS = re.compile(r"\((\d+(?:\.\d+)?)/100%\)")
_CHECK_UNSUPPORTED = 63
_FOOTER_SIZE = 512
_VHD_COOKIE = b"conectix"
_DISK_TYPES: dict[int, Literal["fixed", "dynamic", "differencing"]] = {
    2: "fixed",
    3: "dynamic",
    4: "differencing",
}

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


@dataclass(frozen=True)
class VhdFooter:
    """The fields of a VHD footer that decide how to read and import the disk."""

    disk_type: Literal["fixed", "dynamic", "differencing"]
    current_size: int
    unique_id: uuid.UUID
    checksum_ok: bool


def info(path: StrPath, *, fmt: str | None = None) -> ImageInfo:
    """Describe an image, including any backing file so callers can refuse it.

    Without ``fmt`` a VHD footer wins over qemu's probe, which calls a fixed
    VHD ``raw`` and then counts the footer as data.
    """
    if fmt is None and detect_vhd(path) is not None:
        fmt = "vpc"
    return ImageInfo.model_validate(_info_json(path, fmt))


def probe_format(path: StrPath) -> str:
    """Name the image's format: ``vpc`` when it ends in a VHD footer, else qemu's guess."""
    if detect_vhd(path) is not None:
        return "vpc"
    return str(_info_json(path, None)["format"])


def check(path: StrPath, *, fmt: str) -> CheckResult:
    """Check an image's metadata; a format without checks gives ``supported=False``."""
    proc = _run(
        ["check", "--output=json", "-f", fmt, os.fspath(path)],
        what=f"check of {os.fspath(path)!r} as {fmt}",
        advice=f"Make sure the file exists, is readable and really is a {fmt} image.",
        ok=(0, 2, 3, _CHECK_UNSUPPORTED),
    )
    if proc.returncode == _CHECK_UNSUPPORTED:
        return CheckResult(supported=False)
    return CheckResult.model_validate(_parse_json(proc, f"check of {os.fspath(path)!r}"))


def convert(
    src: StrPath,
    dst: StrPath,
    *,
    src_fmt: str,
    dst_fmt: str,
    vhd_subformat: Literal["dynamic", "fixed"] | None = None,
    progress: Callable[[float], None] | None = None,
) -> None:
    """Convert ``src`` into ``dst``; ``dst`` appears only once the conversion succeeded.

    VHD output always gets ``force_size=on`` so its virtual size equals the
    source's, not a CHS-rounded one. ``progress`` receives increasing
    percentages (0.0 to 100.0) while qemu-img works.
    """
    dst_path = Path(dst)
    tmp = dst_path.with_name(f".{dst_path.name}.{uuid.uuid4().hex[:12]}.part")
    args = ["convert", "-f", src_fmt, "-O", dst_fmt, *_vhd_options(dst_fmt, vhd_subformat)]
    if progress is not None:
        args.append("-p")
    try:
        _run(
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
    proc = _run(
        [*args, os.fspath(a), os.fspath(b)],
        what=f"comparison of {os.fspath(a)!r} ({fmt_a}) with {os.fspath(b)!r} ({fmt_b})",
        advice="Check that both files exist, are readable and have the formats given.",
        ok=(0, 1),
    )
    return proc.returncode == 0


def detect_vhd(path: StrPath) -> VhdFooter | None:
    """Read a VHD footer from the end of the file, or the copy at its start.

    Returns None when neither place holds the ``conectix`` cookie. The start
    copy only exists on dynamic and differencing disks, and rescues one whose
    tail was cut off.
    """
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            if size < _FOOTER_SIZE:
                return None
            f.seek(size - _FOOTER_SIZE)
            tail = f.read(_FOOTER_SIZE)
            f.seek(0)
            head = f.read(_FOOTER_SIZE)
    except OSError as exc:
        msg = f"Could not read {os.fspath(path)!r} to look for a VHD footer: {exc}."
        raise DiskImageError(msg) from exc
    for block in (tail, head):
        if block.startswith(_VHD_COOKIE):
            return _parse_footer(block, path)
    return None


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
    total = sum(footer[:64]) + sum(footer[68:_FOOTER_SIZE])
    return ~total & 0xFFFFFFFF


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


def _info_json(path: StrPath, fmt: str | None) -> dict[str, Any]:
    """Run ``qemu-img info -U`` (so images open elsewhere can be read) and parse it."""
    fmt_args = ["-f", fmt] if fmt is not None else []
    proc = _run(
        ["info", "-U", "--output=json", *fmt_args, os.fspath(path)],
        what=f"info on {os.fspath(path)!r}" + (f" as {fmt}" if fmt else ""),
        advice="Make sure the file exists, is readable and is a disk image of that format.",
    )
    return _parse_json(proc, f"info on {os.fspath(path)!r}")


def _parse_json(proc: _Result, what: str) -> dict[str, Any]:
    """Parse qemu-img's JSON, treating anything else as a qemu-img failure."""
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        msg = f"qemu-img {what} printed no JSON (exit {proc.returncode}): {_trim(proc.stderr)}"
        raise QemuImgError(
            msg, returncode=proc.returncode, stderr=proc.stderr, command=proc.command
        ) from exc
    if not isinstance(data, dict):
        msg = f"qemu-img {what} printed JSON that is not an object: {proc.stdout[:200]!r}"
        raise QemuImgError(msg, returncode=proc.returncode, command=proc.command)
    return data


@dataclass(frozen=True)
class _Result:
    """One finished qemu-img run."""

    command: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def _qemu_img() -> str:
    """Find the qemu-img binary: ``$CLOUDIMAGES_QEMU_IMG``, else ``qemu-img`` on PATH."""
    wanted = os.environ.get(QEMU_IMG_ENV) or "qemu-img"
    found = shutil.which(wanted)
    if found is None:
        where = f"{QEMU_IMG_ENV}={wanted!r}" if QEMU_IMG_ENV in os.environ else "PATH"
        msg = (
            f"qemu-img was not found (looked for {wanted!r} via {where}). {INSTALL_HINT}, "
            f"or set {QEMU_IMG_ENV} to the full path of a qemu-img binary."
        )
        raise QemuImgError(msg)
    return found


def _run(
    args: Sequence[str],
    *,
    what: str,
    advice: str,
    ok: Collection[int] = (0,),
    on_output: Callable[[str], None] | None = None,
) -> _Result:
    """Run qemu-img; the one place where its failures become ``QemuImgError``."""
    command = (_qemu_img(), *args)
    try:
        if on_output is None:
            done = subprocess.run(
                command, capture_output=True, text=True, errors="replace", check=False
            )
            result = _Result(command, done.returncode, done.stdout, done.stderr)
        else:
            result = _stream(command, on_output)
    except OSError as exc:
        msg = f"Could not run {command[0]} for the {what}: {exc}. {INSTALL_HINT}."
        raise QemuImgError(msg, command=command) from exc
    if result.returncode not in ok:
        msg = f"qemu-img {what} failed (exit {result.returncode}): {_trim(result.stderr)} {advice}"
        raise QemuImgError(msg, returncode=result.returncode, stderr=result.stderr, command=command)
    return result


def _stream(command: tuple[str, ...], on_output: Callable[[str], None]) -> _Result:
    """Run qemu-img feeding each ``\\r``/``\\n``-ended piece of stdout to ``on_output``.

    stderr goes to a temporary file so a chatty stderr cannot block the pipe.
    """
    with (
        tempfile.TemporaryFile() as err,
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err) as proc,
    ):
        assert proc.stdout is not None  # stdout=PIPE guarantees it; this narrows the type
        try:
            out = _pump(proc.stdout.fileno(), on_output)
        except BaseException:
            proc.kill()
            raise
        returncode = proc.wait()
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    return _Result(command, returncode, out, stderr)


def _pump(fd: int, on_output: Callable[[str], None]) -> str:
    """Read a pipe in chunks as they arrive, passing on every complete line."""
    seen: list[str] = []
    pending = ""
    while chunk := os.read(fd, 65536).decode("latin-1"):
        seen.append(chunk)
        *lines, pending = re.split(r"[\r\n]", pending + chunk)
        for line in lines:
            on_output(line)
    if pending:
        on_output(pending)
    return "".join(seen)


def _trim(stderr: str) -> str:
    """Keep qemu-img's stderr short enough for a message, but name where it was cut."""
    text = " ".join(stderr.split())
    if not text:
        return "(nothing on stderr)."
    if len(text) <= _STDERR_LIMIT:
        return text.rstrip(".") + "."
    return text[:_STDERR_LIMIT] + f"… ({len(text) - _STDERR_LIMIT} more characters)."
