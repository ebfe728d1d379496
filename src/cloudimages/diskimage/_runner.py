"""Find and run the qemu-img binary: the one place its failures become ``QemuImgError``.

Every call runs qemu-img as a subprocess with an argument list (never a
shell). Failures of the binary, or of starting it, are translated in
:func:`run`, so no ``CalledProcessError`` or ``OSError`` escapes the package.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from cloudimages.errors import QemuImgError

QEMU_IMG_ENV = "CLOUDIMAGES_QEMU_IMG"
INSTALL_HINT = "Install Debian's qemu-utils package (apt-get install qemu-utils)"

_STDERR_LIMIT = 2000


@dataclass(frozen=True)
class Result:
    """One finished qemu-img run."""

    command: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def qemu_img() -> str:
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


def run(
    args: Sequence[str],
    *,
    what: str,
    advice: str,
    ok: Collection[int] = (0,),
    on_output: Callable[[str], None] | None = None,
) -> Result:
    """Run qemu-img; the one place where its failures become ``QemuImgError``."""
    command = (qemu_img(), *args)
    try:
        if on_output is None:
            done = subprocess.run(
                command, capture_output=True, text=True, errors="replace", check=False
            )
            result = Result(command, done.returncode, done.stdout, done.stderr)
        else:
            result = _stream(command, on_output)
    except OSError as exc:
        msg = f"Could not run {command[0]} for the {what}: {exc}. {INSTALL_HINT}."
        raise QemuImgError(msg, command=command) from exc
    if result.returncode not in ok:
        msg = f"qemu-img {what} failed (exit {result.returncode}): {trim(result.stderr)} {advice}"
        raise QemuImgError(msg, returncode=result.returncode, stderr=result.stderr, command=command)
    return result


def parse_json(proc: Result, what: str) -> dict[str, Any]:
    """Parse qemu-img's JSON, treating anything else as a qemu-img failure."""
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        msg = f"qemu-img {what} printed no JSON (exit {proc.returncode}): {trim(proc.stderr)}"
        raise QemuImgError(
            msg, returncode=proc.returncode, stderr=proc.stderr, command=proc.command
        ) from exc
    if not isinstance(data, dict):
        msg = f"qemu-img {what} printed JSON that is not an object: {proc.stdout[:200]!r}"
        raise QemuImgError(msg, returncode=proc.returncode, command=proc.command)
    return data


def _stream(command: tuple[str, ...], on_output: Callable[[str], None]) -> Result:
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
    return Result(command, returncode, out, stderr)


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


def trim(stderr: str) -> str:
    """Keep qemu-img's stderr short enough for a message, but name where it was cut."""
    text = " ".join(stderr.split())
    if not text:
        return "(nothing on stderr)."
    if len(text) <= _STDERR_LIMIT:
        return text.rstrip(".") + "."
    return text[:_STDERR_LIMIT] + f"… ({len(text) - _STDERR_LIMIT} more characters)."
