"""replicate-image end to end: share mode to bob (DFW), copy mode to carol (IAD), rerun."""

from __future__ import annotations

from pathlib import Path

from cloudimages.reports import ReplicateReport
from tests.helpers.diskimages import make_qcow2
from tests.pipelines.support import block, import_image, replicate_image


def test_replicate_shares_and_copies_in_one_run(tmp_path: Path) -> None:
    """bob gets a share, carol a copy with provenance; the source export is cleaned up."""
    source = make_qcow2(tmp_path, "replicate-src.qcow2")
    imported = import_image(str(source), "alice", "to-replicate")

    report = replicate_image(imported.image_id, "alice", ["bob", "carol"])

    assert isinstance(report, ReplicateReport)
    by_account = {t.account: t for t in report.targets}
    assert [t.account for t in report.targets] == ["bob", "carol"]
    bob, carol = by_account["bob"], by_account["carol"]
    assert (bob.mode, bob.region, bob.status, bob.skipped) == ("share", "DFW", "shared", False)
    assert bob.image_id == imported.image_id
    assert (carol.mode, carol.region, carol.status) == ("copy", "IAD", "copied")
    assert carol.image_id not in (None, imported.image_id)
    copy = block("carol").images_client().get_image(str(carol.image_id))
    alice_tenant = block("alice").session().tenant_id
    assert copy.status == "active"
    assert copy.name == "to-replicate"
    assert copy.properties["cloudimages.source_image"] == imported.image_id
    assert copy.properties["cloudimages.source_account"] == alice_tenant
    assert copy.properties["cloudimages.source_region"] == "DFW"
    assert copy.properties["cloudimages.source_sha256"] == imported.sha256
    bobs = [image.id for image in block("bob").images_client().list_images()]
    assert imported.image_id in bobs
    with block("alice").objects_client() as files:
        assert files.list_objects("cloudimages-replicate", prefix=imported.image_id) == []

    again = replicate_image(imported.image_id, "alice", ["bob", "carol"])

    assert [(t.account, t.status, t.skipped) for t in again.targets] == [
        ("bob", "skipped", True),
        ("carol", "skipped", True),
    ]
    assert again.targets[1].image_id == carol.image_id
    carols = (
        block("carol")
        .images_client()
        .list_images(properties={"cloudimages.source_image": imported.image_id})
    )
    assert [image.id for image in carols] == [carol.image_id]
