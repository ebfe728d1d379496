"""Hostile uploads meet the local cloud's import task: refused before qemu-img reads a byte.

Each image below makes qemu-img read a file of the server (``/etc/passwd``)
or a parent disk. Uploaded to the local Cloud Files and imported over HTTP,
each must fail its task with a Rackspace code and the gate's explanation,
create no image, leave nothing staged, never run qemu-img, and never let the
server's file into any stored blob.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cloudimages import diskimage
from tests.helpers import diskimages
from tests.helpers import hostile_images as h
from tests.localcloud.test_imagetasks import Running, assert_no_leftovers, imported, task_cloud

SECRET = Path(h.SECRET).read_bytes()[:64]

HOSTILE: dict[str, tuple[Callable[[Path], Path], str, str]] = {
    "qcow2-data-file-etc-passwd": (
        h.qcow2_data_file,
        "396",
        "names an external data file '/etc/passwd'; qemu-img would read that file",
    ),
    "qcow2-backing-etc-passwd": (
        lambda d: h.qcow2_backing(d, h.SECRET, "raw"),
        "396",
        "has a backing file '/etc/passwd'",
    ),
    "qcow2-json-backing": (h.qcow2_json_backing, "396", "has a backing file 'json:"),
    "vmdk-flat-etc-passwd": (
        lambda d: h.vmdk_descriptor(d, "monolithicFlat", h.SECRET),
        "396",
        "names extent files '/etc/passwd'",
    ),
    "qcow2-with-a-vhd-footer": (
        h.qcow2_with_vhd_footer,
        "396",
        "looks like qcow2 and a VHD (by its footer) at the same time",
    ),
    "vhdx-parent-locator": (h.vhdx_with_parent, "396", "is a differencing VHDX"),
    "vhd-differencing": (
        lambda d: diskimages.make_vhd_variant(d, disk_type="differencing"),
        "721",
        "is a differencing VHD: it has a parent disk",
    ),
}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with task_cloud(tmp_path_factory.mktemp("hostile")) as cloud:
        yield cloud


@pytest.fixture
def qemu_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every qemu-img command line the in-process local cloud runs during the test."""
    real = shutil.which("qemu-img")
    assert real is not None
    log = tmp_path / "qemu-img.log"
    log.touch()
    script = tmp_path / "recording-qemu-img"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real}" "$@"\n')
    script.chmod(0o755)
    monkeypatch.setenv(diskimage.QEMU_IMG_ENV, str(script))
    return log


def stored_files(running: Running) -> Iterator[Path]:
    return (p for p in running.data_dir.rglob("*") if p.is_file())


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_upload_fails_its_import_before_qemu_img_reads_it(
    running: Running, tmp_path: Path, qemu_log: Path, case: str
) -> None:
    """The task fails with the code and the gate's words; no image, no qemu-img, no secret."""
    make, code, words = HOSTILE[case]
    source = make(tmp_path)
    before = {i["id"] for i in running.alice.own_images()}

    task, _ = imported(running.alice, source)

    assert task["status"] == "failure"
    assert task["message"].startswith(f"Image cannot be imported. Error code: '{code}'. ")
    assert words in task["message"]
    assert "/disk.vhd'" in task["message"]  # named as the caller's object, not a server path
    assert {i["id"] for i in running.alice.own_images()} == before
    assert_no_leftovers(running)
    assert qemu_log.read_text() == ""
    assert not [p for p in stored_files(running) if SECRET in p.read_bytes()]


def test_a_clean_vhd_still_imports(running: Running, tmp_path: Path, qemu_log: Path) -> None:
    """The gate lets a dynamic VHD through, and qemu-img then reads it only as vpc."""
    task, _ = imported(running.alice, diskimages.make_vhd(tmp_path, "dynamic"))

    assert task["status"] == "success", task["message"]
    calls = qemu_log.read_text().splitlines()
    assert calls
    assert all(" -f vpc " in f" {call} " for call in calls)
