"""Image lists are read from SQLite a page at a time; they must equal a full sort of every image.

The oracle below is the rule Glance follows and the local cloud used to apply in Python
to every image on every request: keep what the caller may list, sort by the requested
keys (None first ascending, last descending), break ties by created_at then id in the
last key's direction, start strictly after the marker. Images with ties, missing values
and every visibility are listed page by page and compared with it.
"""

from __future__ import annotations

import functools
import random
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from cloudimages.localcloud.accounts import Account
from cloudimages.localcloud.db import Database
from cloudimages.localcloud.glance.dialect import UpstreamDialect
from cloudimages.localcloud.glance.schemas import DISK_FORMATS
from cloudimages.localcloud.images.dialect import ImagesDialect
from cloudimages.localcloud.images.errors import BadRequest
from cloudimages.localcloud.images.listing import list_images
from cloudimages.localcloud.images.rackspace import RACKSPACE
from cloudimages.localcloud.images.store import ImageRecord, ImageStore

REGION = "DFW"
ME, OTHER = "111111", "222222"
UPSTREAM = UpstreamDialect(DISK_FORMATS)
SORTS = [
    [("created_at", "desc")],
    [("created_at", "asc")],
    [("name", "asc")],
    [("name", "desc")],
    [("size", "asc")],
    [("size", "desc")],
    [("status", "asc")],
    [("updated_at", "desc")],
    [("id", "asc")],
    [("disk_format", "desc")],
]
MULTI_SORTS = ["name:asc,size:desc", "size,name:asc", "status:asc,created_at:asc,name"]


def account(tenant: str, *, admin: bool = False) -> Account:
    return Account(f"user{tenant}", "key", "pw", tenant, f"S_{tenant}", REGION, admin)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ImageStore, list[Any]]]:
    """90 images with ties and gaps in every sort key, some shared with ME."""
    db = Database(tmp_path_factory.mktemp("listing") / "db.sqlite3")
    store = ImageStore(db, REGION)
    rng = random.Random(13)
    records = []
    for _ in range(90):
        doc: dict[str, Any] = {
            "id": str(uuid.UUID(int=rng.getrandbits(128))),
            "owner": rng.choice([ME, ME, OTHER]),
            "name": rng.choice(["alpha", "beta", "Beta", "gamma", "é", None]),
            "size": rng.choice([None, 1, 5, 5, 10**12]),
            "status": rng.choice(["active", "queued"]),
            "disk_format": rng.choice(["vhd", "raw", None]),
            "visibility": rng.choice(["private", "public", "shared", "community"]),
            "created_at": f"2024-01-0{rng.randint(1, 4)}T00:00:00Z",
            "updated_at": f"2024-02-0{rng.randint(1, 4)}T00:00:00Z",
            "tags": rng.sample(["a", "b", "c"], rng.randint(0, 2)),
        }
        if rng.random() < 0.5:
            doc["os_hidden"] = rng.choice([True, False])
        doc = {k: v for k, v in doc.items() if v is not None or rng.random() < 0.5}
        record = ImageRecord(doc, None)
        store.put_image(record)
        records.append(record)
        if doc["owner"] == OTHER and rng.random() < 0.6:
            store.add_member(record.id, ME)
            status = rng.choice(["pending", "accepted", "rejected"])
            store.set_member_status(record.id, ME, status)
    yield store, records
    db.close()


# the oracle ------------------------------------------------------------------------
def oracle_order(records: list[ImageRecord], keys: list[tuple[str, str]]) -> list[str]:
    tie = [("created_at", keys[-1][1]), ("id", keys[-1][1])]

    def value(record: ImageRecord, key: str) -> tuple[bool, Any]:
        found = record.id if key == "id" else record.doc.get(key)
        return (found is not None, found if found is not None else 0)

    def compare(a: ImageRecord, b: ImageRecord) -> int:
        for key, direction in (*keys, *tie):
            left, right = value(a, key), value(b, key)
            if left != right:
                ascending = -1 if left < right else 1
                return ascending if direction == "asc" else -ascending
        return 0

    return [r.id for r in sorted(records, key=functools.cmp_to_key(compare))]


def member_status(store: ImageStore, record: ImageRecord) -> str | None:
    found = store.member(record.id, ME)
    return found.status if found else None


def rackspace_visible(store: ImageStore, record: ImageRecord, params: dict[str, str]) -> bool:
    wanted = params.get("member_status", "accepted")
    status = member_status(store, record)
    shared = status is not None and wanted in ("all", status)
    kind = record.doc.get("visibility")
    if params.get("visibility") == "shared":
        return record.owner != ME and shared
    keep = kind == "public" or record.owner == ME or shared
    return keep and params.get("visibility") in (None, kind)


def upstream_visible(
    store: ImageStore, record: ImageRecord, params: dict[str, str], admin: bool
) -> bool:
    if bool(record.doc.get("os_hidden")) != (params.get("os_hidden") == "true"):
        return False
    wanted = params.get("member_status", "accepted")
    status = member_status(store, record)
    kind = record.doc.get("visibility")
    mine = admin or record.owner == ME
    member = kind == "shared" and status is not None and wanted in ("all", status)
    visibility = params.get("visibility")
    if visibility is None:
        return kind == "public" or mine or member
    if visibility == "all":
        return kind in ("public", "community") or mine or member
    if visibility in ("public", "community"):
        return kind == visibility
    if visibility == "private":
        return kind == "private" and mine
    return kind == "shared" and (mine or member)


# listing as a client does: page by page --------------------------------------------
def every_page(
    store: ImageStore, caller: Account, dialect: ImagesDialect, params: dict[str, str], limit: int
) -> list[str]:
    items = [*params.items(), ("limit", str(limit))]
    seen: list[str] = []
    for _ in range(200):
        body = list_images(store, caller, items, dialect)
        seen += [image["id"] for image in body["images"]]
        if "next" not in body:
            return seen
        query = parse_qs(urlsplit(body["next"]).query)
        items = [*params.items(), ("limit", str(limit)), ("marker", query["marker"][0])]
    pytest.fail("the pages never ended")


@pytest.mark.parametrize("keys", SORTS, ids=lambda k: f"{k[0][0]}-{k[0][1]}")
@pytest.mark.parametrize("limit", [1, 7, 1000])
def test_pages_equal_a_full_sort_of_the_visible_images(
    world: tuple[ImageStore, list[ImageRecord]], keys: list[tuple[str, str]], limit: int
) -> None:
    store, records = world
    params = {"sort_key": keys[0][0], "sort_dir": keys[0][1]}
    visible = [r for r in records if rackspace_visible(store, r, {})]
    got = every_page(store, account(ME), RACKSPACE, params, limit)
    assert got == oracle_order(visible, keys)


@pytest.mark.parametrize("sort", MULTI_SORTS)
def test_several_sort_keys_with_their_own_directions(
    world: tuple[ImageStore, list[ImageRecord]], sort: str
) -> None:
    store, records = world
    keys = []
    for item in sort.split(","):
        key, _, direction = item.partition(":")
        keys.append((key, direction or "desc"))
    visible = [r for r in records if upstream_visible(store, r, {}, admin=False)]
    got = every_page(store, account(ME), UPSTREAM, {"sort": sort}, 4)
    assert got == oracle_order(visible, keys)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"visibility": "public"},
        {"visibility": "private"},
        {"visibility": "shared"},
        {"visibility": "shared", "member_status": "all"},
        {"member_status": "pending"},
        {"member_status": "rejected"},
    ],
)
def test_rackspace_visibility_and_member_status(
    world: tuple[ImageStore, list[ImageRecord]], params: dict[str, str]
) -> None:
    store, records = world
    visible = [r for r in records if rackspace_visible(store, r, params)]
    got = every_page(store, account(ME), RACKSPACE, params, 10)
    assert got == oracle_order(visible, [("created_at", "desc")])


@pytest.mark.parametrize("admin", [False, True])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"visibility": "all"},
        {"visibility": "public"},
        {"visibility": "community"},
        {"visibility": "private"},
        {"visibility": "shared"},
        {"visibility": "shared", "member_status": "all"},
        {"os_hidden": "true"},
        {"os_hidden": "true", "visibility": "all", "member_status": "pending"},
    ],
)
def test_upstream_visibility_hidden_images_and_admins(
    world: tuple[ImageStore, list[ImageRecord]], params: dict[str, str], admin: bool
) -> None:
    store, records = world
    visible = [r for r in records if upstream_visible(store, r, params, admin)]
    got = every_page(store, account(ME, admin=admin), UPSTREAM, params, 10)
    assert got == oracle_order(visible, [("created_at", "desc")])


@pytest.mark.parametrize(
    ("params", "keep"),
    [
        ({"name": "beta"}, lambda d: d.get("name") == "beta"),
        ({"status": "queued"}, lambda d: d["status"] == "queued"),
        ({"tag": "a"}, lambda d: "a" in d["tags"]),
        ({"size_min": "5"}, lambda d: d.get("size") is not None and d["size"] >= 5),
        ({"size_max": "5", "status": "active"}, lambda d: d.get("size") in (1, 5)),
    ],
)
def test_filters_keep_pages_full_and_ordered(
    world: tuple[ImageStore, list[ImageRecord]], params: dict[str, str], keep: Any
) -> None:
    """Filters are applied to the rows as they arrive; every page is still full until the end."""
    store, records = world
    visible = [r for r in records if rackspace_visible(store, r, {})]
    wanted = oracle_order([r for r in visible if keep(r.doc) and _status_ok(r, params)], SORTS[0])
    items = [*params.items(), ("limit", "3")]
    first = list_images(store, account(ME), items, RACKSPACE)
    assert len(first["images"]) == min(3, len(wanted))
    assert every_page(store, account(ME), RACKSPACE, params, 3) == wanted


def _status_ok(record: ImageRecord, params: dict[str, str]) -> bool:
    return "status" not in params or record.doc["status"] == params["status"]


def test_a_bad_filter_is_400_even_when_nothing_would_be_listed(
    world: tuple[ImageStore, list[ImageRecord]],
) -> None:
    store, _ = world
    nobody = account("333333")
    for params in ({"self": "x"}, {"size_min": "big"}):
        with pytest.raises(BadRequest):
            list_images(store, nobody, [*params.items(), ("visibility", "private")], RACKSPACE)


def test_limit_zero_lists_nothing_and_has_no_next(
    world: tuple[ImageStore, list[ImageRecord]],
) -> None:
    store, _ = world
    body = list_images(store, account(ME), [("limit", "0")], RACKSPACE)
    assert body["images"] == []
    assert "next" not in body
