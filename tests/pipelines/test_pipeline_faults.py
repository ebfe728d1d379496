"""Transient faults injected by the local cloud are survived; error 396 makes a new task."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.diskimages import make_qcow2, make_raw
from tests.pipelines.support import Faults, block, import_image


def test_503s_while_polling_the_task_are_retried(tmp_path: Path, faults: Faults) -> None:
    """More 503s than one call's retry budget: the poll loop counts them as missed polls."""
    rule = faults.add(service="images:DFW", method="GET", path="/v2/tasks/*", status=503, times=6)

    report = import_image(str(make_qcow2(tmp_path, "faults-503.qcow2")), "alice", "faults-503")

    assert report.skipped is False
    fired = next(r for r in faults.state()["faults"] if r["id"] == rule["id"])
    assert fired["fired"] == 6
    assert block("alice").images_client().get_image(report.image_id).status == "active"


def test_connection_resets_on_segment_puts_are_retried(tmp_path: Path, faults: Faults) -> None:
    """Resets on segment uploads are retried; every segment ends up stored once."""
    rule = faults.add(
        service="files:DFW", method="PUT", path="*_segments/*", action="reset", times=3
    )
    source = make_raw(tmp_path, "faults-reset.raw", size=8 * 1024 * 1024)

    report = import_image(str(source), "alice", "faults-reset", segment_size_mb=1)

    assert report.skipped is False
    assert report.uploaded_segments >= 2
    fired = next(r for r in faults.state()["faults"] if r["id"] == rule["id"])
    assert fired["fired"] == 3


def test_error_396_creates_the_task_again(tmp_path: Path, faults: Faults) -> None:
    """The intermittent 396 failure is answered with a second import task that succeeds."""
    faults.task_outcome(task_type="import", outcome="failure", code="396", times=1)

    report = import_image(str(make_qcow2(tmp_path, "faults-396.qcow2")), "alice", "faults-396")

    assert report.import_attempts == 2
    assert block("alice").images_client().get_image(report.image_id).status == "active"


def test_answers_cut_short_on_segment_and_manifest_puts_are_retried(
    tmp_path: Path, faults: Faults
) -> None:
    """A PUT whose answer breaks off mid-body (urllib3's ProtocolError) is retried like a reset."""
    segment = faults.add(
        service="files:DFW", method="PUT", path="*_segments/*", action="truncate", times=2
    )
    manifest = faults.add(
        service="files:DFW",
        method="PUT",
        path="*/cloudimages-staging/*",
        action="truncate",
        times=1,
    )
    source = make_raw(tmp_path, "faults-truncate.raw", size=4 * 1024 * 1024)

    report = import_image(str(source), "alice", "faults-truncate", segment_size_mb=1)

    assert report.skipped is False
    assert block("alice").images_client().get_image(report.image_id).status == "active"
    for rule, times in ((segment, 2), (manifest, 1)):
        fired = next(r for r in faults.state()["faults"] if r["id"] == rule["id"])
        assert fired["fired"] == times
