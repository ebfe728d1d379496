"""Images: the visible union, every list filter, sorting, paging, show and delete.

Every test runs against a real Glance 33 and against the local cloud; each test scopes its
listings with a property only its own images carry, so tests do not see each other.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from images_fixtures import *  # noqa: F403 - registers image_target and its servers
from images_targets import ImagesTarget, unique

ALWAYS_PRESENT = {"id", "status", "visibility", "protected", "tags", "created_at", "updated_at"}


def batch(t: ImagesTarget, *names: str, **props: str) -> tuple[str, list[str]]:
    """Images of the owner sharing one fresh ``x_batch`` value: (that value, their ids)."""
    mark = unique("batch")
    return mark, [t.make_image(t.owner, name, x_batch=mark, **props) for name in names]


# --- the visible union -----------------------------------------------------------------------


def test_owner_lists_own_image_and_public_images(image_target: ImagesTarget) -> None:
    """The default list holds the caller's own images and every public image."""
    t = image_target
    mine = t.make_image(t.owner, unique())

    listed = t.listing(t.owner, limit=1000)

    assert mine in listed
    assert t.public_image in listed


def test_stranger_does_not_list_private_image(image_target: ImagesTarget) -> None:
    """Another tenant's unshared image is in nobody else's list; public images are."""
    t = image_target
    mine = t.make_image(t.owner, unique())

    listed = t.listing(t.stranger, limit=1000)

    assert mine not in listed
    assert t.public_image in listed


def test_consumer_lists_accepted_share(image_target: ImagesTarget) -> None:
    """An image shared with the caller and accepted is in the caller's default list."""
    t = image_target
    image = t.make_image(t.owner, unique())
    t.share(image, "accepted")

    assert image in t.listing(t.consumer, limit=1000)


# --- filters ---------------------------------------------------------------------------------


def test_visibility_filter(image_target: ImagesTarget) -> None:
    """``visibility`` keeps images of that visibility only."""
    t = image_target
    mark, (image,) = batch(t, unique())
    own = t.image(t.owner, image)["visibility"]

    assert t.listing(t.owner, visibility=own, x_batch=mark) == [image]
    assert t.listing(t.owner, visibility="public", x_batch=mark) == []
    assert t.public_image in t.listing(t.owner, visibility="public", limit=1000)


def test_owner_filter(image_target: ImagesTarget) -> None:
    """``owner`` keeps images whose owner equals the given tenant."""
    t = image_target
    mark, (image,) = batch(t, unique())

    assert t.listing(t.owner, owner=t.owner.tenant, x_batch=mark) == [image]
    assert t.listing(t.owner, owner=t.stranger.tenant, x_batch=mark) == []


def test_status_filter(image_target: ImagesTarget) -> None:
    """``status`` keeps images in that status."""
    t = image_target
    mark, (image,) = batch(t, unique())

    assert t.listing(t.owner, status="active", x_batch=mark) == [image]
    assert t.listing(t.owner, status="queued", x_batch=mark) == []


def test_name_filter_is_exact(image_target: ImagesTarget) -> None:
    """``name`` matches the whole name exactly: no prefixes, no wildcards."""
    t = image_target
    name = unique("named")
    mark, (image,) = batch(t, name)

    assert t.listing(t.owner, name=name) == [image]
    assert t.listing(t.owner, name=name[:-2], x_batch=mark) == []
    assert t.listing(t.owner, name=name[:-2] + "*", x_batch=mark) == []


def test_repeated_tag_filter_requires_every_tag(image_target: ImagesTarget) -> None:
    """Several ``tag`` parameters are ANDed: an image must carry all of them."""
    t = image_target
    mark, (both, one) = batch(t, unique(), unique())
    for image, tags in ((both, ["red", "blue"]), (one, ["red"])):
        assert (
            t.patch(t.owner, image, [{"op": "replace", "path": "/tags", "value": tags}]).status_code
            == 200
        )

    assert sorted(t.listing(t.owner, tag="red", x_batch=mark)) == sorted([both, one])
    assert t.listing(t.owner, tag=["red", "blue"], x_batch=mark) == [both]
    assert t.listing(t.owner, tag=["red", "green"], x_batch=mark) == []


def test_size_bounds_are_inclusive(image_target: ImagesTarget) -> None:
    """``size_min`` and ``size_max`` are inclusive byte bounds."""
    t = image_target
    mark, (image,) = batch(t, unique())
    size = t.image(t.owner, image)["size"]

    assert t.listing(t.owner, size_min=size, size_max=size, x_batch=mark) == [image]
    assert t.listing(t.owner, size_min=size + 1, x_batch=mark) == []
    assert t.listing(t.owner, size_max=size - 1, x_batch=mark) == []


def test_custom_property_filter(image_target: ImagesTarget) -> None:
    """Any other parameter filters on a custom property by exact value."""
    t = image_target
    mark, (red, _blue) = batch(t, unique(), unique())
    t.patch(t.owner, red, [{"op": "add", "path": "/x_colour", "value": "red"}])

    assert t.listing(t.owner, x_colour="red", x_batch=mark) == [red]
    assert t.listing(t.owner, x_colour="re", x_batch=mark) == []


# --- sorting and paging ------------------------------------------------------------------------


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_sort_by_name(image_target: ImagesTarget, direction: str) -> None:
    """``sort_key=name`` with ``sort_dir`` orders the page by name."""
    t = image_target
    mark, ids = batch(t, "b-image", "c-image", "a-image")
    by_name = {"a-image": ids[2], "b-image": ids[0], "c-image": ids[1]}
    expected = [by_name[n] for n in sorted(by_name, reverse=direction == "desc")]

    assert t.listing(t.owner, sort_key="name", sort_dir=direction, x_batch=mark) == expected


def test_pages_follow_next_links(image_target: ImagesTarget) -> None:
    """``first`` and ``next`` are host-relative; ``next`` appears only after a full page."""
    t = image_target
    mark, ids = batch(t, "a-image", "b-image", "c-image")
    query = {"limit": "2", "sort_key": "name", "sort_dir": "asc", "x_batch": mark}

    first = t.http.get(t.api("/v2/images"), headers=t.owner.headers, params=query)
    assert first.status_code == 200
    page = first.json()
    assert [i["id"] for i in page["images"]] == ids[:2]
    assert urlsplit(page["first"]).path == "/v2/images"
    assert dict(parse_qsl(urlsplit(page["first"]).query)) == query
    assert urlsplit(page["next"]).path == "/v2/images"
    assert dict(parse_qsl(urlsplit(page["next"]).query)) == {**query, "marker": ids[1]}

    second = t.http.get(t.api(page["next"]), headers=t.owner.headers)
    assert second.status_code == 200
    assert [i["id"] for i in second.json()["images"]] == ids[2:]
    assert "next" not in second.json()


def test_exactly_full_last_page_has_next_to_an_empty_page(image_target: ImagesTarget) -> None:
    """A page that comes back exactly full has ``next``, which may lead to an empty page."""
    t = image_target
    mark, _ = batch(t, "a-image", "b-image")
    query = {"limit": "2", "x_batch": mark}

    page = t.http.get(t.api("/v2/images"), headers=t.owner.headers, params=query).json()
    assert len(page["images"]) == 2
    last = t.http.get(t.api(page["next"]), headers=t.owner.headers)

    assert last.status_code == 200
    assert last.json()["images"] == []
    assert "next" not in last.json()


def test_marker_outside_the_filter_still_positions_the_page(image_target: ImagesTarget) -> None:
    """A visible image that the filters exclude is a valid marker: paging resumes after it."""
    t = image_target
    mark, (early, late) = batch(t, "a-image", "z-image")
    outside = t.make_image(t.owner, "m-image")

    resp = t.http.get(
        t.api("/v2/images"),
        headers=t.owner.headers,
        params={"x_batch": mark, "sort_key": "name", "sort_dir": "asc", "marker": outside},
    )

    assert resp.status_code == 200
    assert [i["id"] for i in resp.json()["images"]] == [late]
    assert early not in [i["id"] for i in resp.json()["images"]]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "abc"},
        {"limit": "-1"},
        {"sort_key": "colour"},
        {"sort_dir": "sideways"},
        {"visibility": "everyone"},
        {"member_status": "maybe"},
        {"size_min": "big"},
        {"marker": "00000000-0000-4000-8000-000000000000"},
        {"changes-since": "2014-01-01T00:00:00Z"},
    ],
    ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()),
)
def test_bad_list_parameters_are_400(image_target: ImagesTarget, params: dict[str, str]) -> None:
    """An invalid limit, sort, visibility, member status, size, marker or filter is a 400."""
    t = image_target
    resp = t.http.get(t.api("/v2/images"), headers=t.owner.headers, params=params)

    assert resp.status_code == 400
    assert resp.json()["code"] == "400 Bad Request"


def test_request_without_credentials_is_401(image_target: ImagesTarget) -> None:
    """A request that carries no credentials is a 401."""
    t = image_target

    resp = t.http.get(t.api("/v2/images"))

    assert resp.status_code == 401


# --- show and delete -----------------------------------------------------------------------


def test_get_image_shows_the_document(image_target: ImagesTarget) -> None:
    """GET returns the image with its always-present keys and host-relative links."""
    t = image_target
    name = unique()
    image = t.make_image(t.owner, name)

    resp = t.http.get(t.api(f"/v2/images/{image}"), headers=t.owner.headers)

    assert resp.status_code == 200
    doc = resp.json()
    assert set(doc) >= ALWAYS_PRESENT
    assert (doc["id"], doc["name"], doc["status"], doc["owner"]) == (
        image,
        name,
        "active",
        t.owner.tenant,
    )
    assert (doc["self"], doc["file"]) == (f"/v2/images/{image}", f"/v2/images/{image}/file")
    assert doc["schema"] == "/v2/schemas/image"
    assert doc["created_at"].endswith("Z")


def test_invisible_image_is_404(image_target: ImagesTarget) -> None:
    """Another tenant's private image and an unknown id are both 404, never 403."""
    t = image_target
    image = t.make_image(t.owner, unique())

    hidden = t.http.get(t.api(f"/v2/images/{image}"), headers=t.stranger.headers)
    unknown = t.http.get(
        t.api("/v2/images/00000000-0000-4000-8000-000000000000"), headers=t.owner.headers
    )

    assert hidden.status_code == 404
    assert unknown.status_code == 404


def test_delete_image(image_target: ImagesTarget) -> None:
    """DELETE answers 204; the image is then gone from GET and from lists."""
    t = image_target
    mark, (image,) = batch(t, unique())

    resp = t.http.delete(t.api(f"/v2/images/{image}"), headers=t.owner.headers)

    assert resp.status_code == 204
    assert t.http.get(t.api(f"/v2/images/{image}"), headers=t.owner.headers).status_code == 404
    assert t.listing(t.owner, x_batch=mark) == []


def test_protected_image_cannot_be_deleted(image_target: ImagesTarget) -> None:
    """Deleting a protected image is a 403 and the image stays."""
    t = image_target
    image = t.make_image(t.owner, unique(), protected=True)

    resp = t.http.delete(t.api(f"/v2/images/{image}"), headers=t.owner.headers)

    assert resp.status_code == 403
    assert t.image(t.owner, image)["protected"] is True


def test_only_the_owner_deletes(image_target: ImagesTarget) -> None:
    """A consumer who sees the image gets 403 on DELETE, a stranger 404."""
    t = image_target
    image = t.make_image(t.owner, unique())
    t.share(image)
    url = t.api(f"/v2/images/{image}")

    assert t.http.delete(url, headers=t.consumer.headers).status_code == 403
    assert t.http.delete(url, headers=t.stranger.headers).status_code == 404
    assert t.image(t.owner, image)["status"] == "active"
