"""export-image and share-image end to end against the local cloud, reruns included."""

from __future__ import annotations

from pathlib import Path

from cloudimages.reports import ExportReport, ShareReport
from tests.helpers.diskimages import make_qcow2
from tests.pipelines.support import block, export_image, import_image, share_image


def test_export_downloads_compares_and_skips_on_rerun(tmp_path: Path, cloud: object) -> None:
    """An imported image exports as a verified DLO, downloads and matches the source."""
    source = make_qcow2(tmp_path, "export-src.qcow2")
    imported = import_image(str(source), "alice", "to-export")

    report = export_image(
        imported.image_id,
        "alice",
        "exports",
        download_to=str(tmp_path / "downloads"),
        compare_with=str(source),
    )

    assert isinstance(report, ExportReport)
    assert report.skipped is False
    assert report.object == f"{imported.image_id}.vhd"
    assert report.segments >= 1
    assert report.compared is True
    assert report.downloaded_to is not None
    assert Path(report.downloaded_to).stat().st_size == report.size
    with block("alice").objects_client() as files:
        segments = files.list_objects("exports", prefix=f"{report.object}-")
    assert sum(s.size for s in segments) == report.size

    again = export_image(imported.image_id, "alice", "exports")

    assert again.skipped is True
    assert again.size == report.size
    assert again.compared is None


def test_share_with_accept_shows_in_consumer_listing(tmp_path: Path) -> None:
    """After share-image, bob's default listing has the image; a rerun changes nothing."""
    imported = import_image(str(make_qcow2(tmp_path, "share-src.qcow2")), "alice", "to-share")

    report = share_image(imported.image_id, "alice", ["bob"])

    assert isinstance(report, ShareReport)
    [entry] = report.consumers
    assert entry.account == "bob"
    assert entry.status == "accepted"
    assert entry.skipped is False
    assert entry.tenant_id == block("bob").session().tenant_id
    bobs = [image.id for image in block("bob").images_client().list_images()]
    assert imported.image_id in bobs

    again = share_image(imported.image_id, "alice", ["bob"])

    assert [e.skipped for e in again.consumers] == [True]
    assert again.consumers[0].status == "accepted"


def test_share_without_accept_leaves_the_member_pending(tmp_path: Path) -> None:
    """accept=False only adds the member; the consumer's default listing does not show it."""
    imported = import_image(str(make_qcow2(tmp_path, "pending-src.qcow2")), "alice", "pending")

    report = share_image(imported.image_id, "alice", ["bob"], accept=False)

    assert report.consumers[0].status == "pending"
    bobs = [image.id for image in block("bob").images_client().list_images()]
    assert imported.image_id not in bobs
