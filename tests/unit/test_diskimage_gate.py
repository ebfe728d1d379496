"""The safety gate over the hostile-input corpus, with a recording qemu-img.

``CLOUDIMAGES_QEMU_IMG`` points at a real shell script that appends its
arguments to a log and runs the real qemu-img, so the tests see every qemu-img
call: none at all for a refused input, and ``-f <format>`` on every call after
the gate passed one.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cloudimages import diskimage
from cloudimages.errors import DiskImageError, QemuImgError, UnsafeDiskImage
from tests.helpers import hostile_images
from tests.helpers.hostile_corpus import CASES, Case, Passes, Refused

BY_ID = {case.id: case for case in CASES}


@pytest.fixture
def qemu_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A log of every qemu-img command line cloudimages runs during the test."""
    real = shutil.which("qemu-img")
    assert real is not None
    log = tmp_path / "qemu-img.log"
    log.touch()
    script = tmp_path / "recording-qemu-img"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real}" "$@"\n')
    script.chmod(0o755)
    monkeypatch.setenv(diskimage.QEMU_IMG_ENV, str(script))
    return log


def build(case: Case, tmp_path: Path) -> Path:
    directory = tmp_path / "corpus"
    directory.mkdir()
    return case.build(directory)


def gate(case: Case, path: Path) -> diskimage.Inspection:
    return diskimage.inspect_image(path, claimed_format=case.claimed_format, **case.limits)


def test_the_corpus_is_large_and_has_unique_ids() -> None:
    """The corpus holds 25 and more hostile inputs, each with its own id."""
    refused = [c for c in CASES if isinstance(c.outcome, Refused)]
    assert len(refused) >= 25
    assert len(BY_ID) == len(CASES)


@pytest.mark.parametrize("case_id", [c.id for c in CASES if isinstance(c.outcome, Refused)])
def test_the_gate_refuses_with_a_typed_error_and_qemu_img_never_runs(
    case_id: str, tmp_path: Path, qemu_log: Path
) -> None:
    """Each refused input raises exactly its error type, with its message, before qemu-img."""
    case = BY_ID[case_id]
    assert isinstance(case.outcome, Refused)
    path = build(case, tmp_path)

    with pytest.raises(DiskImageError) as caught:
        gate(case, path)

    assert type(caught.value) is case.outcome.error
    assert re.search(case.outcome.message, str(caught.value)), str(caught.value)
    assert qemu_log.read_text() == ""


@pytest.mark.parametrize("case_id", [c.id for c in CASES if isinstance(c.outcome, Passes)])
def test_what_passes_is_read_by_qemu_img_only_with_its_format(
    case_id: str, tmp_path: Path, qemu_log: Path
) -> None:
    """After the gate, qemu-img is told the detected format (-f) and never probes."""
    case = BY_ID[case_id]
    outcome = case.outcome
    assert isinstance(outcome, Passes)
    found = gate(case, build(case, tmp_path))

    assert (found.format, found.virtual_size) == (outcome.format, outcome.virtual_size)
    assert found.path.is_file()
    assert not found.path.is_symlink()
    if outcome.info_error is not None:
        with pytest.raises(QemuImgError, match=outcome.info_error):
            diskimage.info(found.path, fmt=found.format)
    else:
        assert diskimage.info(found.path, fmt=found.format).virtual_size == outcome.virtual_size
        assert diskimage.check(found.path, fmt=found.format).corruptions > 0 or not outcome.corrupt
    calls = qemu_log.read_text().splitlines()
    assert calls
    assert all(f"-f {found.format} {found.path}" in call for call in calls)


@pytest.mark.parametrize("case_id", [c.id for c in CASES if c.discloses])
def test_the_disclosure_cases_are_real(case_id: str, tmp_path: Path) -> None:
    """Without the gate, qemu-img really copies /etc/passwd into the converted image.

    Proves the corpus builds what it says, for the cases qemu-img 7 still follows.
    """
    case = BY_ID[case_id]
    path = build(case, tmp_path)
    fmt = "vmdk" if path.suffix == ".vmdk" else "qcow2"
    out = tmp_path / "out.raw"
    done = subprocess.run(
        ["qemu-img", "convert", "-f", fmt, "-O", "raw", str(path), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"this qemu-img refuses it by itself: {done.stderr.strip()}")
    secret = Path(hostile_images.SECRET).read_bytes()[:64]
    assert secret in out.read_bytes()


def test_a_claimed_format_the_gate_does_not_know_is_refused(tmp_path: Path) -> None:
    """--format with an unknown name is an error naming the accepted ones."""
    with pytest.raises(DiskImageError, match=r"unknown disk format 'qcow3'; expected one of"):
        diskimage.inspect_image(tmp_path / "x", claimed_format="qcow3")


def test_the_error_carries_what_the_image_refers_to(tmp_path: Path) -> None:
    """UnsafeDiskImage names the outside files and the failed checks, not only in text."""
    path = hostile_images.qcow2_data_file(tmp_path)

    with pytest.raises(UnsafeDiskImage) as caught:
        diskimage.inspect_image(path)

    assert caught.value.references == ("/etc/passwd",)
    assert caught.value.checks == ("data_file",)
    assert caught.value.format == "qcow2"


def test_a_name_replaces_the_path_in_messages(tmp_path: Path) -> None:
    """A server's staging copy is called by the name the caller knows."""
    path = hostile_images.random_bytes(tmp_path)

    with pytest.raises(DiskImageError, match=r"^'incoming/disk\.vhd' is not a disk image"):
        diskimage.inspect_image(path, name="incoming/disk.vhd")


def test_the_reliability_doc_lists_every_corpus_input() -> None:
    """docs/reliability.md has a row for each corpus id, so the table cannot drift."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "reliability.md").read_text()
    assert [c.id for c in CASES if f"| `{c.id}` |" not in doc] == []
