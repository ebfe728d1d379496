"""Source steps: a disk image path or URL becomes a local file with a known sha256.

The content must be inspected and its sha256 known before anything is uploaded
(the sha256 names the staging object and finds earlier imports), so a URL is
downloaded into the work directory first (capped in size, resumed when cut, see
``client.urls``) and a local file is only hashed. Work files a dead run left
behind (``.part`` files of downloads and conversions) are swept at the start
of each import; finished work files (a converted VHD) are kept for a rerun.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

from prefect import get_run_logger
from pydantic import BaseModel

from .. import progress
from ..client import fetch_url
from ._step import step

__all__ = ["Source", "fetch_source", "is_url", "source_name", "sweep_work_dir", "work_dir"]

WORK_DIR_ENV = "CLOUDIMAGES_WORK_DIR"
_HASH_CHUNK = 4 * 1024 * 1024
#: A ``.part`` file untouched for this long belongs to a dead run, whatever its name says.
STALE_AFTER = 24 * 3600.0
PID_MAX = 4_194_304  # Linux's highest pid_max: larger numbers in a name are not pids


class Source(BaseModel):
    """A source disk image on this machine, with the sha256 of its content."""

    given: str  # what the user passed: a path or a URL
    path: Path
    sha256: str
    size: int
    downloaded: bool


def work_dir() -> Path:
    """Where downloads and conversions go: ``$CLOUDIMAGES_WORK_DIR`` or a temp folder."""
    configured = os.environ.get(WORK_DIR_ENV)
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "cloudimages-work"


def is_url(source: str) -> bool:
    return urlsplit(source).scheme in ("http", "https")


def source_name(source: str) -> str:
    """The file name a path or URL ends in (what ``cloudimages.source_name`` records)."""
    if is_url(source):
        return Path(unquote(urlsplit(source).path)).name or source
    return Path(source).name


@step("sweep-work-dir")
def sweep_work_dir(work: Path) -> int:
    """Delete ``.part`` files of runs that died (their process is gone, or long silent)."""
    removed = 0
    for part in work.glob(".*.part") if work.is_dir() else ():
        if _is_stale(part):
            part.unlink(missing_ok=True)
            removed += 1
    if removed:
        get_run_logger().info("Removed %d work file(s) left by runs that died", removed)
    return removed


def _is_stale(part: Path) -> bool:
    """A part named ``.<name>.<pid>.part`` is stale once that process is gone."""
    pid = part.name.removesuffix(".part").rsplit(".", 1)[-1]
    if pid.isdigit() and int(pid) <= PID_MAX and int(pid) != os.getpid():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
    try:
        return time.time() - part.stat().st_mtime > STALE_AFTER
    except FileNotFoundError:
        return False


@step("fetch-source")
def fetch_source(source: str, work: Path, *, max_size: int, stall_timeout: float = 60.0) -> Source:
    """Hash a local file, or download a URL into ``work`` hashing it as it arrives."""
    logger = get_run_logger()
    if not is_url(source):
        path = Path(source).expanduser().resolve()
        sha, size = _hash_file(path) if path.is_file() else ("", 0)
        logger.info("Source %s: %d bytes, sha256 %s", path, size, sha or "(missing)")
        return Source(given=source, path=path, sha256=sha, size=size, downloaded=False)
    work.mkdir(parents=True, exist_ok=True)
    name = source_name(source).replace("/", "_") or "download"
    target = work / f"{hashlib.sha256(source.encode()).hexdigest()[:16]}-{name}"
    with progress.phase(f"Download {name}") as shown:
        fetched = fetch_url(
            source, target, max_size=max_size, stall_timeout=stall_timeout, progress=shown
        )
    logger.info("Downloaded %s: %d bytes, sha256 %s", source, fetched.size, fetched.sha256)
    return Source(
        given=source, path=target, sha256=fetched.sha256, size=fetched.size, downloaded=True
    )


def _hash_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with (
        path.open("rb") as f,
        progress.phase(f"Hash {path.name}", total=path.stat().st_size) as shown,
    ):
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            shown(size)
    return digest.hexdigest(), size
