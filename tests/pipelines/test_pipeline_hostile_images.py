"""The import pipeline stops hostile images at its inspect step, before qemu-img or upload.

A few of the corpus's disclosure cases, through the real ``import-image`` flow:
the flow raises the gate's error, qemu-img (a recording wrapper) never runs,
nothing is staged in Cloud Files and no image is made. The whole corpus is
checked against the gate itself in ``tests/unit/test_diskimage_gate.py``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from cloudimages import diskimage
from cloudimages.errors import DiskImageError, NotFound, UnsafeDiskImage
from tests.helpers import hostile_images as h
from tests.pipelines.support import block, import_image

CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "qcow2-data-file": (h.qcow2_data_file, "names an external data file '/etc/passwd'"),
    "vmdk-flat-extent": (
        lambda d: h.vmdk_descriptor(d, "monolithicFlat", h.SECRET),
        "names extent files '/etc/passwd'",
    ),
    "qcow2-json-backing": (h.qcow2_json_backing, "has a backing file 'json:"),
}


@pytest.fixture
def qemu_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    real = shutil.which("qemu-img")
    assert real is not None
    log = tmp_path / "qemu-img.log"
    log.touch()
    script = tmp_path / "recording-qemu-img"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real}" "$@"\n')
    script.chmod(0o755)
    monkeypatch.setenv(diskimage.QEMU_IMG_ENV, str(script))
    return log


def staged_names(container: str) -> list[str]:
    with block("alice").objects_client() as files:
        try:
            return [o.name for o in files.list_objects(container)]
        except NotFound:
            return []


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_source_is_refused_before_qemu_img_and_upload(
    tmp_path: Path, qemu_log: Path, case: str
) -> None:
    """The flow raises UnsafeDiskImage from its inspect step; nothing ran, nothing was made."""
    make, words = CASES[case]
    source = make(tmp_path)
    container = f"hostile-{case}"

    with pytest.raises(UnsafeDiskImage) as caught:
        import_image(str(source), "alice", f"hostile-{case}", container=container)

    assert isinstance(caught.value, DiskImageError)
    assert words in str(caught.value)
    assert qemu_log.read_text() == ""
    assert staged_names(container) == []
    images = block("alice").images_client().list_images(name=f"hostile-{case}")
    assert list(images) == []
