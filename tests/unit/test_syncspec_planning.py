"""Planning one image in one target: what drifted and which operations fix it (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cloudimages.steps.sync_sources import sha256_in
from cloudimages.syncspec.model import Naming, Retention
from cloudimages.syncspec.planning import natural_key, plan_image
from cloudimages.syncspec.report import PlanRow
from cloudimages.syncspec.state import (
    ObservedImage,
    ObservedMember,
    TargetState,
    WantedMember,
    WantedVersion,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
KEEP_2 = Retention(keep=2, retire="private")
BOB = WantedMember(member_id="bob-tenant", account="bob")


def wanted(version: str = "2", **more: object) -> WantedVersion:
    fields: dict[str, object] = {
        "name": "os",
        "version": version,
        "image_name": f"os {version}",
        "content": f"sha256:{version * 64}"[:71],
        "properties": {"com.example.tier": "gold"},
        "members": [BOB],
    }
    return WantedVersion.model_validate({**fields, **more})


def found(version: str = "2", age: int = 0, **more: object) -> ObservedImage:
    want = wanted(version)
    fields: dict[str, object] = {
        "id": f"img-{version}-{age}",
        "name": want.image_name,
        "sync_name": "os",
        "version": version,
        "content": want.content,
        "properties": dict(want.properties),
        "created_at": NOW - timedelta(days=age),
        "members": [ObservedMember(member_id="bob-tenant", status="accepted")],
    }
    return ObservedImage.model_validate({**fields, **more})


def plan(
    want: list[WantedVersion],
    have: list[ObservedImage],
    retention: Retention = KEEP_2,
    *,
    can_hide: bool = False,
    order: str = "natural",
) -> PlanRow:
    state = TargetState(account="alice", region="DFW", tenant_id="alice-tenant", can_hide=can_hide)
    naming = Naming(order=order)  # type: ignore[arg-type]
    return plan_image(state, "os", want, have, retention=retention, naming=naming)


def kinds(row: PlanRow) -> list[tuple[str, str]]:
    return [(op.kind, op.version) for op in row.ops]


def test_versions_sort_naturally() -> None:
    versions = ["1.10", "1.9", "2024.1", "1.9.1", "1.9-rc1"]
    assert sorted(versions, key=natural_key) == ["1.9", "1.9-rc1", "1.9.1", "1.10", "2024.1"]


def test_missing_version_is_created_shared_and_accepted() -> None:
    row = plan([wanted()], [])
    assert kinds(row) == [("create", "2"), ("share", "2"), ("accept", "2")]
    assert row.drift == ["version 2 is missing"]
    assert row.actions(prune=False) == ["create", "share"]


def test_a_target_as_declared_has_nothing_to_do() -> None:
    row = plan([wanted()], [found()])
    assert (row.ops, row.drift, row.image_id) == ([], [], "img-2-0")
    assert row.actions(prune=False) == ["nothing"]


def test_new_version_rotates_and_keeps_the_previous_one() -> None:
    row = plan([wanted("3")], [found("2"), found("1", age=5)])
    assert kinds(row) == [("create", "3"), ("share", "3"), ("accept", "3"), ("unshare", "1")]
    assert row.rotate
    assert row.actions(prune=False) == ["rotate", "share", "retire"]


def test_delete_retention_needs_prune() -> None:
    row = plan([wanted("3")], [found("2"), found("1")], Retention(keep=1, retire="delete"))
    deletes = [op for op in row.ops if op.kind == "delete"]
    assert [(op.version, op.needs_prune) for op in deletes] == [("2", True), ("1", True)]
    assert row.changes(prune=False) == row.ops[:3]
    assert "delete (needs --prune)" in row.actions(prune=False)


def test_hide_retention_hides_once() -> None:
    hidden = found("1", hidden=True)
    row = plan([wanted("3")], [found("2"), hidden, found("0")], Retention(keep=1, retire="hide"))
    hides = [(op.kind, op.version, op.changes) for op in row.ops if op.kind == "hide"]
    assert hides == [("hide", "2", {"os_hidden": True}), ("hide", "0", {"os_hidden": True})]


def test_created_order_ranks_versions_by_age() -> None:
    row = plan([wanted("9")], [found("a", age=1), found("b", age=9)], order="created")
    assert [op.version for op in row.ops if op.kind == "unshare"] == ["b"]


def test_changed_property_name_size_and_tag_are_one_update() -> None:
    image = found(name="renamed", min_disk=5, tags=["old"])
    image.properties["com.example.tier"] = "silver"
    row = plan([wanted(min_disk=10, tags=["golden"])], [image])
    [update] = row.ops
    assert update.kind == "update"
    assert update.changes == {"name": "os 2", "com.example.tier": "gold", "min_disk": 10}
    assert update.add_tags == ["golden"]


def test_hidden_declared_version_is_shown_again_where_images_hide() -> None:
    row = plan([wanted()], [found(hidden=True)], can_hide=True)
    assert [op.changes for op in row.ops] == [{"os_hidden": False}]


def test_other_content_and_duplicates_are_unshared_then_deleted_with_prune() -> None:
    other = found(age=3, content="sha256:" + "f" * 64)
    twin = found(age=1)
    row = plan([wanted()], [found(age=2), other, twin])
    assert [(op.kind, op.image_id, op.needs_prune) for op in row.ops] == [
        ("unshare", other.id, False),
        ("delete", other.id, True),
        ("unshare", twin.id, False),
        ("delete", twin.id, True),
    ]
    assert row.image_id == "img-2-2"  # the oldest good copy stays


def test_members_revoked_pending_and_undeclared() -> None:
    carol = WantedMember(member_id="carol-tenant")
    image = found(
        members=[
            ObservedMember(member_id="carol-tenant", status="pending"),
            ObservedMember(member_id="stranger", status="accepted"),
        ]
    )
    row = plan([wanted(members=[BOB, carol])], [image])
    assert kinds(row) == [("share", "2"), ("accept", "2"), ("unshare", "2")]
    assert row.drift == [
        "2: not shared with bob",
        "2: carol-tenant has not accepted yet (pending)",
        "2: shared with undeclared member stranger",
    ]


def test_images_no_longer_in_the_spec_are_deleted_only_with_prune() -> None:
    row = plan([], [found("1")], retention=None)  # type: ignore[arg-type]
    assert [(op.kind, op.needs_prune) for op in row.ops] == [("delete", True)]
    assert row.changes(prune=False) == []
    assert row.version is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"{'a' * 64}  disk.img\n{'b' * 64} *other.img\n", "a" * 64),
        (f"{'A' * 64}  ./sub/disk.img\n", "a" * 64),
        (f"SHA256 (disk.img) = {'c' * 64}\n", "c" * 64),
        (f"{'d' * 64}\n", "d" * 64),
        (f"{'e' * 64}  other.img\n", None),
        ("not a checksum file\n", None),
    ],
)
def test_checksum_files(text: str, expected: str | None) -> None:
    """GNU and BSD sha256sum lines, by file name; a bare hash is used as it is."""
    assert sha256_in(text, "disk.img") == expected
