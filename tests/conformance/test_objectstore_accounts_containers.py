"""Accounts and containers: listings, counters, metadata, create and delete."""

from __future__ import annotations

import pytest
from targets import ObjectStoreTarget


def _put(target: ObjectStoreTarget, container: str, name: str, body: bytes = b"x") -> None:
    resp = target.http.put(target.a.url(container, name), headers=target.a.auth, content=body)
    assert resp.status_code == 201, resp.text


def _names(target: ObjectStoreTarget, container: str, **params: str) -> list[str]:
    resp = target.http.get(
        target.a.url(container), headers=target.a.auth, params={"format": "json", **params}
    )
    assert resp.status_code == 200, resp.text
    return [e.get("name") or e["subdir"] for e in resp.json()]


@pytest.fixture
def tree(target: ObjectStoreTarget) -> str:
    """A container holding a small directory-like tree of one-byte objects."""
    container = target.container()
    for name in ("a", "b/1", "b/2", "c", "d/x/y"):
        _put(target, container, name)
    return container


def test_empty_account_lists_nothing(target: ObjectStoreTarget) -> None:
    """An account without containers answers 204 to a plain GET and `[]` to format=json."""
    empty = target.empty
    plain = target.http.get(empty.storage_url, headers=empty.auth)
    as_json = target.http.get(empty.storage_url, headers=empty.auth, params={"format": "json"})
    assert plain.status_code == 204
    assert plain.content == b""
    assert plain.headers["X-Account-Container-Count"] == "0"
    assert as_json.status_code == 200
    assert as_json.headers["Content-Type"].startswith("application/json")
    assert as_json.json() == []


def test_account_listing_shows_containers_with_counts(target: ObjectStoreTarget) -> None:
    """GET on the account lists its containers; format=json adds count, bytes and last_modified.

    Per-container counters in the account listing are eventually consistent: real Swift
    updates them from a background container-updater, so only their type is pinned here.
    """
    container = target.container()
    _put(target, container, "o", b"12345")
    plain = target.http.get(target.a.storage_url, headers=target.a.auth)
    listing = target.http.get(
        target.a.storage_url, headers=target.a.auth, params={"format": "json", "prefix": container}
    )
    assert plain.status_code == 200
    assert container in plain.text.splitlines()
    assert listing.status_code == 200
    (entry,) = listing.json()
    assert entry["name"] == container
    assert isinstance(entry["count"], int)
    assert isinstance(entry["bytes"], int)
    assert entry["last_modified"].count("T") == 1


def test_account_head_reports_totals(target: ObjectStoreTarget) -> None:
    """HEAD on an existing account answers 204 with container, object and byte totals."""
    target.container()
    resp = target.http.head(target.a.storage_url, headers=target.a.auth)
    assert resp.status_code == 204
    assert int(resp.headers["X-Account-Container-Count"]) >= 1
    assert int(resp.headers["X-Account-Object-Count"]) >= 0
    assert int(resp.headers["X-Account-Bytes-Used"]) >= 0


def test_account_post_sets_and_removes_metadata(target: ObjectStoreTarget) -> None:
    """POST on an account stores X-Account-Meta-* (204) and X-Remove-Account-Meta-* drops it."""
    url, auth = target.a.storage_url, target.a.auth
    set_meta = target.http.post(url, headers={**auth, "X-Account-Meta-Conformance": "yes"})
    shown = target.http.head(url, headers=auth)
    removed = target.http.post(url, headers={**auth, "X-Remove-Account-Meta-Conformance": "x"})
    after = target.http.head(url, headers=auth)
    assert set_meta.status_code == 204
    assert shown.headers["X-Account-Meta-Conformance"] == "yes"
    assert removed.status_code == 204
    assert "X-Account-Meta-Conformance" not in after.headers


def test_container_put_is_201_then_202(target: ObjectStoreTarget) -> None:
    """PUT of a new container answers 201; repeating it answers 202."""
    container = target.container()
    again = target.http.put(target.a.url(container), headers=target.a.auth)
    assert again.status_code == 202


def test_empty_container_lists_nothing(target: ObjectStoreTarget) -> None:
    """An empty container answers 204 to a plain GET and `[]` to format=json."""
    container = target.container()
    plain = target.http.get(target.a.url(container), headers=target.a.auth)
    assert plain.status_code == 204
    assert plain.headers["X-Container-Object-Count"] == "0"
    assert _names(target, container) == []


def test_container_listing_json_fields(target: ObjectStoreTarget) -> None:
    """format=json lists name, bytes, hash (md5), content_type and last_modified per object."""
    container = target.container()
    resp = target.http.put(
        target.a.url(container, "doc.txt"),
        headers={**target.a.auth, "Content-Type": "text/plain"},
        content=b"hello",
    )
    listing = target.http.get(
        target.a.url(container), headers=target.a.auth, params={"format": "json"}
    )
    assert resp.status_code == 201
    assert listing.status_code == 200
    (entry,) = listing.json()
    assert entry["name"] == "doc.txt"
    assert entry["bytes"] == 5
    assert entry["hash"] == "5d41402abc4b2a76b9719d911017c592"
    assert entry["content_type"] == "text/plain"
    assert entry["last_modified"].count("T") == 1


def test_container_plain_listing_is_sorted_names(target: ObjectStoreTarget, tree: str) -> None:
    """A plain GET lists object names one per line in byte order."""
    resp = target.http.get(target.a.url(tree), headers=target.a.auth)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert resp.text == "a\nb/1\nb/2\nc\nd/x/y\n"


def test_listing_prefix(target: ObjectStoreTarget, tree: str) -> None:
    """prefix= keeps only names starting with it."""
    assert _names(target, tree, prefix="b/") == ["b/1", "b/2"]


def test_listing_delimiter_rolls_up_subdirs(target: ObjectStoreTarget, tree: str) -> None:
    """delimiter=/ rolls names up to `subdir` entries ending with the delimiter."""
    resp = target.http.get(
        target.a.url(tree), headers=target.a.auth, params={"format": "json", "delimiter": "/"}
    )
    assert resp.status_code == 200
    assert [e.get("name") for e in resp.json()] == ["a", None, "c", None]
    assert [e.get("subdir") for e in resp.json()] == [None, "b/", None, "d/"]


def test_listing_prefix_and_delimiter(target: ObjectStoreTarget, tree: str) -> None:
    """prefix plus delimiter lists one level below the prefix."""
    assert _names(target, tree, prefix="d/", delimiter="/") == ["d/x/"]


def test_listing_marker_end_marker_limit(target: ObjectStoreTarget, tree: str) -> None:
    """marker and end_marker are exclusive bounds; limit caps the count."""
    assert _names(target, tree, marker="b/1") == ["b/2", "c", "d/x/y"]
    assert _names(target, tree, end_marker="b/2") == ["a", "b/1"]
    assert _names(target, tree, marker="a", end_marker="c") == ["b/1", "b/2"]
    assert _names(target, tree, limit="2") == ["a", "b/1"]


def test_listing_reverse(target: ObjectStoreTarget, tree: str) -> None:
    """reverse=true lists in descending order, and marker then bounds from above."""
    assert _names(target, tree, reverse="true") == ["d/x/y", "c", "b/2", "b/1", "a"]
    assert _names(target, tree, reverse="true", marker="c") == ["b/2", "b/1", "a"]


def test_container_head_counts_objects_and_bytes(target: ObjectStoreTarget) -> None:
    """HEAD on a container answers 204 with its object count and bytes used."""
    container = target.container()
    _put(target, container, "one", b"12345")
    _put(target, container, "two", b"678")
    resp = target.http.head(target.a.url(container), headers=target.a.auth)
    assert resp.status_code == 204
    assert resp.headers["X-Container-Object-Count"] == "2"
    assert resp.headers["X-Container-Bytes-Used"] == "8"


def test_container_metadata_set_and_remove(target: ObjectStoreTarget) -> None:
    """POST adds X-Container-Meta-* (204) without touching others; X-Remove-… drops one."""
    container = target.container()
    url, auth = target.a.url(container), target.a.auth
    first = target.http.post(url, headers={**auth, "X-Container-Meta-Color": "blue"})
    second = target.http.post(url, headers={**auth, "X-Container-Meta-Shape": "round"})
    removed = target.http.post(url, headers={**auth, "X-Remove-Container-Meta-Color": "x"})
    head = target.http.head(url, headers=auth)
    assert (first.status_code, second.status_code, removed.status_code) == (204, 204, 204)
    assert head.headers["X-Container-Meta-Shape"] == "round"
    assert "X-Container-Meta-Color" not in head.headers


def test_container_put_with_metadata(target: ObjectStoreTarget) -> None:
    """Metadata sent with the container PUT is shown by HEAD."""
    name = f"meta-{target.container()}"
    resp = target.http.put(
        target.a.url(name), headers={**target.a.auth, "X-Container-Meta-Owner": "ops"}
    )
    target.adopt(target.a, name)
    head = target.http.head(target.a.url(name), headers=target.a.auth)
    assert resp.status_code == 201
    assert head.headers["X-Container-Meta-Owner"] == "ops"


def test_container_delete(target: ObjectStoreTarget) -> None:
    """DELETE answers 409 while objects remain, 204 once empty and 404 when already gone."""
    container = target.container()
    _put(target, container, "o")
    url, auth = target.a.url(container), target.a.auth
    busy = target.http.delete(url, headers=auth)
    target.http.delete(target.a.url(container, "o"), headers=auth)
    done = target.http.delete(url, headers=auth)
    gone = target.http.delete(url, headers=auth)
    assert busy.status_code == 409
    assert done.status_code == 204
    assert gone.status_code == 404


def test_missing_container(target: ObjectStoreTarget) -> None:
    """GET, HEAD and an object PUT into a container that does not exist answer 404."""
    url = target.a.url("never-created-container")
    auth = target.a.auth
    assert target.http.get(url, headers=auth).status_code == 404
    assert target.http.head(url, headers=auth).status_code == 404
    put = target.http.put(f"{url}/obj", headers=auth, content=b"x")
    assert put.status_code == 404
