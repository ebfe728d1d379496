"""PATCH /v2/images/{id}: both JSON-patch media types, add/replace/remove, and refusals.

Every test runs against a real Glance 33 and against the local cloud.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from images_fixtures import *  # noqa: F403 - registers image_target and its servers
from images_targets import PATCH_V20, PATCH_V21, ImagesTarget, unique


def op(kind: str, path: str, value: Any = None, media: str = PATCH_V21) -> dict[str, Any]:
    """One operation in the v2.1 (``op``/``path``) or the v2.0 (``<op>: path``) form."""
    out: dict[str, Any] = {"op": kind, "path": path} if media == PATCH_V21 else {kind: path}
    if kind != "remove":
        out["value"] = value
    return out


@pytest.fixture
def image(image_target: ImagesTarget) -> str:
    """An active image of the owner with one custom property ``x_colour=red``."""
    return image_target.make_image(image_target.owner, unique(), x_colour="red")


# --- media types -----------------------------------------------------------------------------


@pytest.mark.parametrize("media", [PATCH_V21, PATCH_V20])
def test_both_patch_media_types_replace(image_target: ImagesTarget, image: str, media: str) -> None:
    """Both media types apply a replace and answer 200 with the whole updated image."""
    t = image_target

    resp = t.patch(t.owner, image, [op("replace", "/name", "renamed", media)], media)

    assert resp.status_code == 200
    assert resp.json()["name"] == "renamed"
    assert resp.json()["id"] == image
    assert t.image(t.owner, image)["name"] == "renamed"


@pytest.mark.parametrize("media", ["application/json", "application/json-patch+json", "text/plain"])
def test_other_content_types_are_415_with_accept_patch(
    image_target: ImagesTarget, image: str, media: str
) -> None:
    """Any other Content-Type is a 415 whose Accept-Patch names both patch media types."""
    t = image_target

    resp = t.patch(t.owner, image, [op("replace", "/name", "x")], media)

    assert resp.status_code == 415
    offered = {m.strip() for m in resp.headers["accept-patch"].split(",")}
    assert offered == {PATCH_V21, PATCH_V20}


# --- add, replace, remove ----------------------------------------------------------------------


def test_add_replace_remove_custom_property(image_target: ImagesTarget, image: str) -> None:
    """A custom property can be added, replaced and removed by the owner."""
    t = image_target

    added = t.patch(t.owner, image, [op("add", "/x_size_class", "small")])
    replaced = t.patch(t.owner, image, [op("replace", "/x_size_class", "large")])
    assert (added.status_code, replaced.status_code) == (200, 200)
    assert replaced.json()["x_size_class"] == "large"
    removed = t.patch(t.owner, image, [op("remove", "/x_size_class")])

    assert removed.status_code == 200
    assert "x_size_class" not in removed.json()
    assert "x_size_class" not in t.image(t.owner, image)


def test_replace_base_properties(image_target: ImagesTarget, image: str) -> None:
    """Base attributes (min_ram, min_disk, protected, tags) are replaced with typed values."""
    t = image_target
    changes = [
        op("replace", "/min_ram", 512),
        op("replace", "/min_disk", 10),
        op("replace", "/tags", ["a", "b", "a"]),
        op("replace", "/protected", True),
    ]

    resp = t.patch(t.owner, image, changes)

    assert resp.status_code == 200
    doc = resp.json()
    assert (doc["min_ram"], doc["min_disk"], doc["protected"]) == (512, 10, True)
    assert sorted(doc["tags"]) == ["a", "b"]


def test_v21_add_of_existing_property_overwrites(image_target: ImagesTarget, image: str) -> None:
    """With v2.1, ``add`` of an existing property sets it (RFC 6902 semantics)."""
    t = image_target

    resp = t.patch(t.owner, image, [op("add", "/x_colour", "blue"), op("add", "/name", "n2")])

    assert resp.status_code == 200
    assert (resp.json()["x_colour"], resp.json()["name"]) == ("blue", "n2")


@pytest.mark.parametrize("path", ["/x_colour", "/name"])
def test_v20_add_of_existing_property_is_409(
    image_target: ImagesTarget, image: str, path: str
) -> None:
    """With v2.0, ``add`` of a property that exists (custom or base) is a 409."""
    t = image_target

    resp = t.patch(t.owner, image, [op("add", path, "blue", PATCH_V20)], PATCH_V20)

    assert resp.status_code == 409
    assert t.image(t.owner, image)["x_colour"] == "red"


@pytest.mark.parametrize("kind", ["replace", "remove"])
def test_replace_or_remove_of_missing_property_is_409(
    image_target: ImagesTarget, image: str, kind: str
) -> None:
    """``replace`` or ``remove`` of a custom property that does not exist is a 409."""
    t = image_target

    resp = t.patch(t.owner, image, [op(kind, "/x_missing", "v")])

    assert resp.status_code == 409


@pytest.mark.parametrize("path", ["/name", "/min_ram", "/protected"])
def test_remove_of_base_property_is_403(image_target: ImagesTarget, image: str, path: str) -> None:
    """Base attributes cannot be removed (403)."""
    t = image_target

    resp = t.patch(t.owner, image, [op("remove", path)])

    assert resp.status_code == 403


@pytest.mark.parametrize(
    "path", ["/status", "/checksum", "/size", "/created_at", "/updated_at", "/id"]
)
def test_read_only_attributes_are_403(image_target: ImagesTarget, image: str, path: str) -> None:
    """Read-only attributes cannot be replaced (403) and keep their value."""
    t = image_target
    before = t.image(t.owner, image)

    resp = t.patch(t.owner, image, [op("replace", path, "x")])

    assert resp.status_code == 403
    assert t.image(t.owner, image)[path[1:]] == before[path[1:]]


@pytest.mark.parametrize("path", ["/owner", "/deleted", "/deleted_at"])
def test_reserved_attributes_are_403(image_target: ImagesTarget, image: str, path: str) -> None:
    """Reserved attributes cannot be set by their owner (403) and the image stays theirs."""
    t = image_target

    resp = t.patch(t.owner, image, [op("replace", path, t.stranger.tenant)])

    assert resp.status_code == 403
    assert t.image(t.owner, image)["owner"] == t.owner.tenant


def test_making_an_image_public_is_403(image_target: ImagesTarget, image: str) -> None:
    """A customer (no admin role) cannot publish an image."""
    t = image_target

    resp = t.patch(t.owner, image, [op("replace", "/visibility", "public")])

    assert resp.status_code == 403
    assert t.image(t.owner, image)["visibility"] != "public"


@pytest.mark.parametrize(
    "changes",
    [
        [op("replace", "/min_ram", "abc")],
        [op("replace", "/min_disk", -1)],
        [op("replace", "/disk_format", "floppy")],
        [op("add", "/x_number", 5)],
        [op("replace", "/protected", "yes")],
    ],
    ids=["min_ram-abc", "min_disk-negative", "disk_format-floppy", "custom-int", "protected-str"],
)
def test_values_failing_the_schema_are_400(
    image_target: ImagesTarget, image: str, changes: list[dict[str, Any]]
) -> None:
    """A value the image schema rejects is a 400."""
    t = image_target

    resp = t.patch(t.owner, image, changes)

    assert resp.status_code == 400


@pytest.mark.parametrize("path", ["name", "", "/a/b", "/name/", "/~2x", "/x~"])
def test_bad_pointers_are_400(image_target: ImagesTarget, image: str, path: str) -> None:
    """A pointer without leading slash, with two levels, a trailing slash or a stray ~ is 400."""
    t = image_target

    resp = t.patch(t.owner, image, [op("replace", path, "x")])

    assert resp.status_code == 400


def test_escaped_pointer_names_a_property_with_a_slash(
    image_target: ImagesTarget, image: str
) -> None:
    """``~1`` in a pointer stands for ``/`` and ``~0`` for ``~``."""
    t = image_target

    resp = t.patch(t.owner, image, [op("add", "/x~1y~0z", "v")])

    assert resp.status_code == 200
    assert resp.json()["x/y~z"] == "v"


@pytest.mark.parametrize(
    "body",
    [
        b"[{",
        b'{"op": "add", "path": "/x_a", "value": "1"}',
        b'["add"]',
        b'[{"op": "move", "path": "/name"}]',
        b'[{"op": "add", "path": "/x_a"}]',
    ],
    ids=["bad-json", "not-a-list", "not-objects", "unknown-op", "missing-value"],
)
def test_malformed_bodies_are_400(image_target: ImagesTarget, image: str, body: bytes) -> None:
    """Bad JSON, a non-list, non-object operations, unknown ops or a missing value are 400."""
    t = image_target
    headers = {**t.owner.headers, "Content-Type": PATCH_V21}

    resp = t.http.patch(t.api(f"/v2/images/{image}"), headers=headers, content=body)

    assert resp.status_code == 400


def test_v20_operation_with_two_verbs_is_400(image_target: ImagesTarget, image: str) -> None:
    """A v2.0 operation must name exactly one of add, replace, remove."""
    t = image_target
    both = {"replace": "/name", "add": "/x_b", "value": "x"}

    resp = t.patch(t.owner, image, [both], PATCH_V20)

    assert resp.status_code == 400


def test_patch_is_all_or_nothing(image_target: ImagesTarget, image: str) -> None:
    """When one operation fails, none of the earlier ones is applied."""
    t = image_target
    name = t.image(t.owner, image)["name"]

    resp = t.patch(
        t.owner, image, [op("replace", "/name", "changed"), op("replace", "/status", "x")]
    )

    assert resp.status_code == 403
    assert t.image(t.owner, image)["name"] == name


def test_non_owner_patch_is_403_if_visible_else_404(image_target: ImagesTarget, image: str) -> None:
    """A consumer who can see the image gets 403; a stranger who cannot gets 404."""
    t = image_target
    t.share(image)
    change = [op("replace", "/name", "stolen")]

    assert t.patch(t.consumer, image, change).status_code == 403
    assert t.patch(t.stranger, image, change).status_code == 404
    assert t.image(t.owner, image)["name"] != "stolen"


def test_patch_body_is_json_even_when_sent_raw(image_target: ImagesTarget, image: str) -> None:
    """The body is read as JSON regardless of how it was serialised."""
    t = image_target
    headers = {**t.owner.headers, "Content-Type": PATCH_V21 + "; charset=utf-8"}
    body = json.dumps([op("replace", "/name", "spaced")], indent=2).encode()

    resp = t.http.patch(t.api(f"/v2/images/{image}"), headers=headers, content=body)

    assert resp.status_code == 200
    assert resp.json()["name"] == "spaced"
