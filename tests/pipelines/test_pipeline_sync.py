"""sync-images end to end on the local cloud: converge, change, rotate, retire, repair drift.

Three images (a file, a URL with a SHA256SUMS file, an image in an account) over
four targets in two regions (alice and carol, each in DFW and IAD), shared with
bob (accepted with his block). Every test uses a catalogue of its own.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from cloudimages.errors import ConfigurationError
from cloudimages.steps.sources import work_dir
from cloudimages.syncspec.state import SYNC_VERSION
from tests.helpers.diskimages import make_qcow2, make_raw
from tests.pipelines.support import block, import_image
from tests.pipelines.sync_support import (
    TARGET_KEYS,
    TARGETS,
    managed,
    members,
    ops_of,
    sha256_of,
    staged_leftovers,
    sync,
    tenant,
    write_spec,
)
from tests.pipelines.test_pipeline_events import events_about


def three_images(tmp_path: Path, http_files: tuple[Path, str]) -> list[dict[str, Any]]:
    """A qcow2 file, a raw disk served over http with a SHA256SUMS, and alice's image."""
    disk = make_qcow2(tmp_path, "base-os.qcow2")
    served, url = http_files
    raw = make_raw(served, "app.raw")
    (served / "SHA256SUMS").write_text(f"{'0' * 64}  other.img\n{sha256_of(raw)} *app.raw\n")
    source = import_image(str(make_qcow2(tmp_path, "built.qcow2")), "alice", "build-output")
    return [
        {
            "name": "base-os",
            "version": "2024.1",
            "source": {"file": disk.name},
            "checksum": f"sha256:{sha256_of(disk)}",
            "properties": {"os_distro": "ubuntu", "com.example.tier": "gold"},
            "tags": ["golden"],
            "min_disk": 10,
            "min_ram": 512,
        },
        {
            "name": "app",
            "version": "1.2",
            "source": {"url": f"{url}/app.raw"},
            "checksum": f"{url}/SHA256SUMS",
        },
        {
            "name": "built",
            "version": "7",
            "source": {"image": {"account": "alice", "region": "DFW", "id": source.image_id}},
        },
    ]


def test_three_images_over_four_targets_converge_in_one_apply(
    tmp_path: Path, http_files: tuple[Path, str]
) -> None:
    """One apply creates 12 copies, shared and accepted; the next plan has nothing to do."""
    spec = write_spec(
        tmp_path / "golden.yaml",
        {
            "catalog": "converge",
            "targets": TARGETS,
            "shares": [{"account": "bob"}],
            "images": three_images(tmp_path, http_files),
        },
    )

    planned = sync(spec, mode="plan")

    assert planned.changes == 12 * 3  # a create, a share and an accept per image × target
    assert {tuple(row.actions(prune=False)) for row in planned.rows} == {("create", "share")}
    assert all(managed(a, r, "converge") == [] for a, r in TARGET_KEYS)

    applied = sync(spec)

    assert (applied.changes, applied.failed) == (36, 0)
    bob = tenant("bob")
    for account, region in TARGET_KEYS:
        images = {i.name: i for i in managed(account, region, "converge")}
        assert sorted(images) == ["app 1.2", "base-os 2024.1", "built 7"]
        base = images["base-os 2024.1"]
        assert (base.min_disk, base.min_ram, base.tags) == (10, 512, ["golden"])
        assert base.properties["com.example.tier"] == "gold"
        assert base.properties[SYNC_VERSION] == "2024.1"
        assert all(members(account, region, i.id) == {bob: "accepted"} for i in images.values())
        assert staged_leftovers(account, region) == []
    built = images["built 7"].properties
    assert built["cloudimages.source_region"] == "DFW"

    again = sync(spec, mode="plan")

    assert again.changes == 0
    assert {tuple(row.actions(prune=False)) for row in again.rows} == {("nothing",)}
    assert all(row.drift == [] for row in again.rows)
    shas = tuple(i.properties["cloudimages.source_sha256"] for i in images.values())
    assert [p.name for p in work_dir().glob("*") if p.name.startswith(shas)] == []
    assert [p.name for p in work_dir().glob("sync-export-*")] == []
    assert [p.name for p in work_dir().glob("*-app.raw")] == []  # the download


def small_spec(tmp_path: Path, catalog: str, images: list[dict[str, Any]], **more: Any) -> Path:
    spec = {"catalog": catalog, "targets": [{"account": "alice", "regions": ["DFW", "IAD"]}]}
    return write_spec(tmp_path / f"{catalog}.yaml", {**spec, **more, "images": images})


def image_entry(tmp_path: Path, name: str, version: str, **more: Any) -> dict[str, Any]:
    disk = make_qcow2(tmp_path, f"{name}-{version}.qcow2")
    digest = sha256_of(disk)
    return {"name": name, "version": version, "source": {"file": disk.name}, "checksum": digest}


def test_one_property_change_is_exactly_one_update(prefect_api: str, tmp_path: Path) -> None:
    """One property changed: one update per target, a drift event from plan, an update event."""
    first = image_entry(tmp_path, "web", "1")
    other = image_entry(tmp_path, "db", "1")
    first["properties"] = {"com.example.role": "web"}
    spec = small_spec(tmp_path, "one-update", [first, other])
    sync(spec)

    first["properties"] = {"com.example.role": "frontend"}
    spec = small_spec(tmp_path, "one-update", [first, other])
    planned = sync(spec, mode="plan")

    assert ops_of(planned) == [("alice/DFW", "update", "1"), ("alice/IAD", "update", "1")]
    assert planned.rows[0].ops[0].changes == {"com.example.role": "frontend"}
    applied = sync(spec)
    assert applied.changes == 2
    roles = {i.properties.get("com.example.role") for i in managed("alice", "IAD", "one-update")}
    assert roles == {"frontend", None}
    assert sync(spec, mode="plan").changes == 0
    updated = applied.rows[0].image_id
    wanted = {"cloudimages.sync.drift", "cloudimages.sync.updated"}
    for _ in range(60):  # events arrive asynchronously
        events = events_about(prefect_api, f"cloudimages.image.{updated}")
        if wanted <= {e["event"] for e in events}:
            break
        time.sleep(0.5)
    assert wanted <= {e["event"] for e in events}, events
    [change] = [e["payload"] for e in events if e["event"] == "cloudimages.sync.updated"]
    assert (change["catalog"], change["image"], change["detail"]) == (
        "one-update",
        "web",
        "com.example.role",
    )


def versions_in(account: str, region: str, catalog: str) -> dict[str, str]:
    """Image id by version, of the catalogue's images in the target."""
    return {i.properties[SYNC_VERSION]: i.id for i in managed(account, region, catalog)}


def test_new_version_rotates_and_retention_retires_exactly_the_oldest(tmp_path: Path) -> None:
    """keep 2, retire private: version 3 is made and shared; version 1 loses its member only."""
    bob = tenant("bob")
    entry = {version: image_entry(tmp_path, "base", version) for version in ("1", "2", "3")}
    more = {"shares": [{"account": "bob"}], "retention": {"keep": 2, "retire": "private"}}
    target = [{"account": "alice", "regions": ["DFW"]}]
    for version in ("1", "2"):
        sync(small_spec(tmp_path, "rotate", [entry[version]], **more, targets=target))

    spec = small_spec(tmp_path, "rotate", [entry["3"]], **more, targets=target)
    planned = sync(spec, mode="plan")

    [row] = planned.rows
    assert row.actions(prune=False) == ["rotate", "share", "retire"]
    assert [(op.kind, op.version) for op in row.ops] == [
        ("create", "3"),
        ("share", "3"),
        ("accept", "3"),
        ("unshare", "1"),
    ]
    assert row.drift[-1] == "version 1 is beyond retention (keep 2)"
    sync(spec)
    ids = versions_in("alice", "DFW", "rotate")
    assert sorted(ids) == ["1", "2", "3"]
    assert members("alice", "DFW", ids["1"]) == {}
    assert members("alice", "DFW", ids["2"]) == {bob: "accepted"}
    assert members("alice", "DFW", ids["3"]) == {bob: "accepted"}
    assert sync(spec, mode="plan").changes == 0


def test_nothing_is_deleted_without_prune(tmp_path: Path) -> None:
    """A delete retention and a dropped image plan deletions; only --prune makes them."""
    old, new, dropped = (
        image_entry(tmp_path, n, v) for n, v in [("os", "1"), ("os", "2"), ("x", "1")]
    )
    more = {"retention": {"keep": 1, "retire": "delete"}}
    sync(small_spec(tmp_path, "prune", [old, dropped], **more))
    before = versions_in("alice", "IAD", "prune")

    spec = small_spec(tmp_path, "prune", [new], **more)
    applied = sync(spec)

    assert applied.failed == 0
    deletes = [op for row in applied.rows for op in row.ops if op.kind == "delete"]
    assert len(deletes) == 4  # os 1 and x 1, in DFW and IAD
    assert {(op.status, op.message) for op in deletes} == {("skipped", "needs --prune")}
    assert set(before.values()) <= {i.id for i in managed("alice", "IAD", "prune")}
    planned = sync(spec, mode="plan")
    assert planned.changes == 0
    assert "delete (needs --prune)" in planned.rows[0].actions(prune=False)
    assert sync(spec, mode="plan", prune=True).changes == 4

    pruned = sync(spec, prune=True)

    assert (
        sorted((op.kind, op.status) for row in pruned.rows for op in row.ops)
        == [("delete", "done")] * 4
    )
    for region in ("DFW", "IAD"):
        assert list(versions_in("alice", region, "prune")) == ["2"]
    assert sync(spec, mode="plan", prune=True).changes == 0


def test_drift_made_by_hand_is_reported_and_repaired(tmp_path: Path) -> None:
    """An image deleted, a property changed, a member revoked: plan names each, apply fixes all."""
    entry = image_entry(tmp_path, "hand", "1")
    entry["properties"] = {"com.example.owner": "platform"}
    targets = [{"account": "alice", "regions": ["DFW", "IAD"]}, {"account": "carol"}]
    spec = small_spec(tmp_path, "drift", [entry], shares=[{"account": "bob"}], targets=targets)
    sync(spec)
    bob = tenant("bob")
    deleted = versions_in("alice", "DFW", "drift")["1"]
    block("alice").images_client("DFW").delete_image(deleted)
    changed = versions_in("alice", "IAD", "drift")["1"]
    block("alice").images_client("IAD").update_image(changed, {"com.example.owner": "someone"})
    revoked = versions_in("carol", "IAD", "drift")["1"]
    block("carol").images_client("IAD").remove_member(revoked, bob)

    planned = sync(spec, mode="plan")

    by_target = {row.target: row for row in planned.rows}
    assert by_target["alice/DFW"].drift == ["version 1 is missing"]
    assert by_target["alice/DFW"].actions(prune=False) == ["create", "share"]
    assert by_target["alice/IAD"].drift == ["1: com.example.owner is 'someone'"]
    assert by_target["alice/IAD"].actions(prune=False) == ["update"]
    assert by_target["carol/IAD"].drift == ["1: not shared with bob"]
    assert by_target["carol/IAD"].actions(prune=False) == ["share"]

    sync(spec)

    assert sync(spec, mode="plan").changes == 0
    remade = versions_in("alice", "DFW", "drift")["1"]
    assert remade != deleted
    assert members("alice", "DFW", remade) == {bob: "accepted"}
    owner = block("alice").images_client("IAD").get_image(changed).properties
    assert owner["com.example.owner"] == "platform"
    assert members("carol", "IAD", revoked) == {bob: "accepted"}


def test_a_spec_given_by_url_plans_like_a_file(http_files: tuple[Path, str]) -> None:
    """The deployments' spec may be an http(s) URL; errors then name the URL and the line."""
    served, url = http_files
    disk = make_raw(served, "by-url.raw")
    (served / "SHA256SUMS").write_text(f"{sha256_of(disk)}  by-url.raw\n")
    source = {"url": f"{url}/by-url.raw"}
    image = {"name": "by-url", "version": "1", "source": source, "checksum": f"{url}/SHA256SUMS"}
    spec = {"catalog": "by-url", "targets": [{"account": "alice"}], "images": [image]}
    write_spec(served / "spec.yaml", spec)

    planned = sync(f"{url}/spec.yaml", mode="plan")

    assert (planned.spec, planned.changes) == (f"{url}/spec.yaml", 1)
    assert planned.rows[0].drift == ["version 1 is missing"]
    write_spec(served / "spec.yaml", {**spec, "targets": [{"account": "nobody"}]})
    where = rf"^targets\[0\]\.account \(line 3 of {url}/spec\.yaml\)"
    with pytest.raises(ConfigurationError, match=where):
        sync(f"{url}/spec.yaml", mode="plan")
