"""Defects a chaos run found, each pinned: stuck tasks, late input checks, leftovers, caps.

Every test here failed before its fix: a stuck task ruined every rerun, a bad name was
found only after the upload, a refused task left its staged upload, a killed conversion
left its ``.part`` file forever, a URL source had no size or stall cap, and a rerun read
the account's task list one task at a time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudimages.errors import (
    ConfigurationError,
    DiskImageError,
    NotFound,
    ServiceUnavailable,
    TaskFailed,
    TaskTimedOut,
    TransportError,
)
from cloudimages.steps.sources import work_dir
from tests.helpers import hostile_images
from tests.helpers.diskimages import make_qcow2, make_raw, make_vhd
from tests.pipelines.support import Faults, block, import_image

STAGING = "cloudimages-staging"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def staged(sha: str) -> list[str]:
    """The staging objects and segments of one source, in alice's DFW Cloud Files."""
    names: list[str] = []
    with block("alice").objects_client() as files:
        for container in (STAGING, f"{STAGING}_segments"):
            with contextlib.suppress(NotFound):
                names += [o.name for o in files.list_objects(container, prefix=sha)]
    return names


def images_named(name: str) -> list[str]:
    return [image.id for image in block("alice").images_client().list_images(name=name)]


def test_a_stuck_task_names_the_way_out_and_a_rerun_with_it_replaces_the_task(
    tmp_path: Path, faults: Faults
) -> None:
    """Timeout → the message names --replace-stuck-task; a plain rerun adopts the same task
    and times out again; a rerun with the option starts a fresh task and records the old."""
    faults.task_outcome(task_type="import", outcome="stuck", times=1)
    source = str(make_qcow2(tmp_path, "stuck.qcow2"))
    quick = {"task_timeout_minutes": 0.02}

    with pytest.raises(TaskTimedOut, match="--replace-stuck-task") as first:
        import_image(source, "alice", "stuck", **quick)
    with pytest.raises(TaskTimedOut) as again:
        import_image(source, "alice", "stuck", **quick)
    report = import_image(source, "alice", "stuck", replace_stuck_task=True)

    assert again.value.task_id == first.value.task_id
    assert report.replaced_tasks == [first.value.task_id]
    assert report.task_id != first.value.task_id
    assert images_named("stuck") == [report.image_id]
    assert staged(report.sha256) == []


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"name": "n" * 300}, "name: String should have at most 255 characters"),
        ({"name": "   "}, "name: String should have at least 1 character"),
        ({"properties": {"k": "v" * 300}}, "values at most 255"),
        ({"tags": [""]}, "tags.0: String should have at least 1 character"),
    ],
)
def test_bad_names_are_refused_before_any_byte_moves(
    tmp_path: Path, fields: dict[str, object], problem: str
) -> None:
    """A 300-character or empty name (and the like) fails at once: nothing staged, no image."""
    source = make_raw(tmp_path, "late.raw")
    values = {"name": "late-checks", **fields}
    name = str(values.pop("name"))

    with pytest.raises(ConfigurationError, match=problem):
        import_image(str(source), "alice", name, **values)

    assert staged(sha256_of(source)) == []


def test_a_disk_over_the_import_limit_is_refused_before_upload(tmp_path: Path) -> None:
    """A qcow2 claiming 1 TiB is refused by the gate: nothing staged, no image, no task."""
    source = hostile_images.qcow2_huge_virtual(tmp_path)

    with pytest.raises(DiskImageError, match=r"over|limit"):
        import_image(str(source), "alice", "huge-virtual")

    assert staged(sha256_of(source)) == []
    assert images_named("huge-virtual") == []


def test_a_refused_import_deletes_its_staged_upload_and_says_so(
    tmp_path: Path, faults: Faults
) -> None:
    """The service fails the task (code 111): the staged VHD is deleted, the error says so."""
    faults.task_outcome(task_type="import", outcome="failure", code="111", times=1)
    source = make_qcow2(tmp_path, "refused.qcow2")

    with pytest.raises(TaskFailed, match=r"staged upload .* was deleted"):
        import_image(str(source), "alice", "refused")

    assert staged(sha256_of(source)) == []
    assert images_named("refused") == []


def test_work_files_of_dead_runs_are_swept_at_start(tmp_path: Path) -> None:
    """A conversion's .part of a killed process goes; a live process's .part stays."""
    work = work_dir()
    work.mkdir(parents=True, exist_ok=True)
    dead = work / f".{'d' * 64}.vhd.0a1b2c3d.{_dead_pid()}.part"
    alive = work / f".{'a' * 64}.vhd.0a1b2c3d.{os.getpid()}.part"
    dead.write_bytes(b"left by a kill -9")
    alive.write_bytes(b"being written")

    import_image(str(make_raw(tmp_path, "sweeper.raw")), "alice", "sweeper")

    assert not dead.exists()
    assert alive.exists()
    alive.unlink()


def _dead_pid() -> int:
    """A pid that belongs to no process now."""
    for candidate in range(4_000_000, 3_000_000, -7):
        try:
            os.kill(candidate, 0)
        except ProcessLookupError:
            return candidate
        except PermissionError:
            continue
    pytest.fail("no free pid found")


def test_a_url_source_over_the_download_cap_is_refused_and_leaves_nothing(
    tmp_path: Path, http_files: tuple[Path, str]
) -> None:
    """max_download_gb caps what a URL may bring in; the partial file is deleted."""
    served, base = http_files
    make_raw(served, "big.raw", size=4 * 1024 * 1024)
    before = set(work_dir().iterdir()) if work_dir().exists() else set()

    with pytest.raises(DiskImageError, match="larger than the download limit"):
        import_image(f"{base}/big.raw", "alice", "too-big-url", max_download_gb=0.001)

    assert set(work_dir().iterdir()) == before


@pytest.fixture
def stalling_server() -> Iterator[str]:
    """An http server that sends headers and a little body, then nothing at all."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n" + b"\0" * 512)
            stop.wait(30)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/stalls.raw"
    stop.set()
    thread.join(timeout=5)
    listener.close()


def test_a_url_that_stalls_fails_after_the_stall_timeout(stalling_server: str) -> None:
    """A server that stops sending fails the download (retried, then given up), not hangs."""
    with pytest.raises(TransportError, match="timed out"):
        import_image(stalling_server, "alice", "stalls", download_stall_seconds=0.5)


def test_a_rerun_finds_its_task_without_reading_the_task_list(
    tmp_path: Path, faults: Faults
) -> None:
    """After a timed-out wait, the rerun reads its own task by id: no GET /v2/tasks listing."""
    faults.task_outcome(task_type="import", outcome="stuck", times=1)
    source = str(make_qcow2(tmp_path, "own-task.qcow2"))
    with pytest.raises(TaskTimedOut):
        import_image(source, "alice", "own-task", task_timeout_minutes=0.01)
    listing = faults.add(service="images:DFW", method="GET", path="/v2/tasks", status=401)

    with pytest.raises(TaskTimedOut):
        import_image(source, "alice", "own-task", task_timeout_minutes=0.01)

    fired = next(r for r in faults.state()["faults"] if r["id"] == listing["id"])
    assert fired["fired"] == 0
    import_image(source, "alice", "own-task", replace_stuck_task=True)


def test_a_rerun_with_another_segment_size_leaves_no_old_segments(
    tmp_path: Path, faults: Faults
) -> None:
    """Segments a failed upload stored under another size go with the staged upload."""
    faults.add(service="files:DFW", method="PUT", path="*_segments/*00000003", status=503)
    source = str(make_vhd(tmp_path, "fixed", "resized.vhd", size=4 * 1024 * 1024))
    with pytest.raises(ServiceUnavailable):
        import_image(source, "alice", "resized", segment_size_mb=1)
    assert len(staged(sha256_of(Path(source)))) >= 3
    faults.clear()

    import_image(source, "alice", "resized")

    assert staged(sha256_of(Path(source))) == []
