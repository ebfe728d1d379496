"""Crash and rerun: kill the import's process during the upload and during the wait.

The rerun in this process must finish the job with exactly one image, without
sending the segments the killed run had stored, and adopting its import task.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cloudimages.errors import NotFound
from cloudimages.localcloud import LocalCloud
from tests.helpers.diskimages import make_vhd
from tests.pipelines.support import Faults, block, cloud_settings, import_image

SCRIPT = Path(__file__).with_name("_crash_import.py")
MiB = 1024 * 1024
STAGING = "cloudimages-staging"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextmanager
def import_process(
    prefect_api: str, tmp_path: Path, source: Path, name: str, segment_mb: int
) -> Iterator[subprocess.Popen[bytes]]:
    """The import flow running in a child process; SIGKILLed on exit if still running."""
    env = {**os.environ, "PREFECT_API_URL": prefect_api}
    log = (tmp_path / "child.log").open("wb")
    args = [sys.executable, str(SCRIPT), str(source), "alice", name, str(segment_mb)]
    child = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=30)
        log.close()


def wait_until(what: str, check: Callable[[], bool], child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while not check():
        if child.poll() is not None:
            pytest.fail(f"the import process exited ({child.returncode}) before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.05)


def stored_segments(sha: str) -> int:
    with block("alice").objects_client() as files:
        try:
            return len(files.list_objects(f"{STAGING}_segments", prefix=f"{sha}.vhd/"))
        except NotFound:
            return 0


def images_of(sha: str) -> list[str]:
    found = (
        block("alice").images_client().list_images(properties={"cloudimages.source_sha256": sha})
    )
    return [image.id for image in found]


def import_task_status(sha: str) -> str | None:
    images = block("alice").images_client()
    for listed in images.list_tasks():
        task = images.get_task(listed.id)
        if (task.input or {}).get("import_from") == f"{STAGING}/{sha}.vhd":
            return task.status
    return None


def test_killed_during_upload_resumes_without_resending(
    prefect_api: str, tmp_path: Path, faults: Faults
) -> None:
    """SIGKILL mid-upload; the rerun skips the stored segments and makes one image."""
    source = make_vhd(tmp_path, "fixed", "crash-upload.vhd", size=24 * MiB)
    sha = sha256_of(source)
    total = -(-source.stat().st_size // MiB)
    faults.add(service="files:DFW", method="PUT", path="*_segments/*", action="latency", delay=0.3)

    with import_process(prefect_api, tmp_path, source, "crash-upload", 1) as child:
        wait_until("6 segments were stored", lambda: stored_segments(sha) >= 6, child)
        child.kill()
    faults.clear()
    assert images_of(sha) == []

    report = import_image(str(source), "alice", "crash-upload", segment_size_mb=1)

    assert report.skipped is False
    assert report.skipped_segments >= 6
    assert report.uploaded_segments + report.skipped_segments == total
    assert report.uploaded_segments < total
    assert images_of(sha) == [report.image_id]


def test_killed_while_waiting_adopts_the_running_task(
    prefect_api: str, tmp_path: Path, cloud: LocalCloud
) -> None:
    """SIGKILL while the import task runs; the rerun waits for that task, uploads nothing."""
    source = make_vhd(tmp_path, "dynamic", "crash-wait.vhd", size=8 * MiB)
    sha = sha256_of(source)

    with (
        cloud_settings(cloud, task_processing_delay=3.0),
        import_process(prefect_api, tmp_path, source, "crash-wait", 1) as child,
    ):
        wait_until("the task is processing", lambda: import_task_status(sha) == "processing", child)
        child.kill()

    report = import_image(str(source), "alice", "crash-wait", segment_size_mb=1)

    assert report.skipped is False
    assert report.import_attempts == 0  # the killed run's task was adopted
    assert report.uploaded_segments == 0
    assert images_of(sha) == [report.image_id]
    assert import_task_status(sha) == "success"
