"""Image members: sharing an image with another tenant, and what each party may do.

Every test runs against a real Glance 33 and against the local cloud.  ``image_target``
gives three tenants: the owner (producer), the consumer and a stranger.
"""

from __future__ import annotations

import pytest
from images_fixtures import *  # noqa: F403 - registers image_target and its servers
from images_targets import ImagesTarget, unique


@pytest.fixture
def image(image_target: ImagesTarget) -> str:
    """An active image of the owner, not yet shared."""
    return image_target.make_image(image_target.owner, unique())


def members_url(t: ImagesTarget, image: str, member: str | None = None) -> str:
    base = t.api(f"/v2/images/{image}/members")
    return base if member is None else f"{base}/{member}"


def test_create_member_is_200_pending(image_target: ImagesTarget, image: str) -> None:
    """The owner adds a member: 200 with a pending member document."""
    t = image_target

    resp = t.http.post(
        members_url(t, image), headers=t.owner.headers, json={"member": t.consumer.tenant}
    )

    assert resp.status_code == 200
    doc = resp.json()
    assert (doc["image_id"], doc["member_id"], doc["status"]) == (
        image,
        t.consumer.tenant,
        "pending",
    )
    assert doc["schema"] == "/v2/schemas/member"
    assert doc["created_at"].endswith("Z")


def test_duplicate_member_is_409(image_target: ImagesTarget, image: str) -> None:
    """Adding the same member twice is a 409."""
    t = image_target
    t.share(image)

    resp = t.http.post(
        members_url(t, image), headers=t.owner.headers, json={"member": t.consumer.tenant}
    )

    assert resp.status_code == 409


@pytest.mark.parametrize("body", [{}, {"member": ""}], ids=["missing", "empty"])
def test_member_body_without_member_is_400(
    image_target: ImagesTarget, image: str, body: dict[str, str]
) -> None:
    """A body without a member id is a 400."""
    t = image_target

    resp = t.http.post(members_url(t, image), headers=t.owner.headers, json=body)

    assert resp.status_code == 400


def test_only_the_owner_adds_members(image_target: ImagesTarget, image: str) -> None:
    """A consumer who sees the image gets 403 adding a member; a stranger gets 404."""
    t = image_target
    t.share(image)
    body = {"member": "someone-else"}

    assert (
        t.http.post(members_url(t, image), headers=t.consumer.headers, json=body).status_code == 403
    )
    assert (
        t.http.post(members_url(t, image), headers=t.stranger.headers, json=body).status_code == 404
    )


def test_public_image_has_no_members(image_target: ImagesTarget) -> None:
    """Members of a public image cannot be listed (403) by anyone who sees it."""
    t = image_target

    resp = t.http.get(members_url(t, t.public_image), headers=t.stranger.headers)

    assert resp.status_code == 403


def test_member_list_by_owner_consumer_and_stranger(image_target: ImagesTarget, image: str) -> None:
    """The owner lists every member, a consumer only itself, a stranger gets 404."""
    t = image_target
    t.share(image)
    t.http.post(members_url(t, image), headers=t.owner.headers, json={"member": "another-tenant"})

    by_owner = t.http.get(members_url(t, image), headers=t.owner.headers)
    by_consumer = t.http.get(members_url(t, image), headers=t.consumer.headers)
    by_stranger = t.http.get(members_url(t, image), headers=t.stranger.headers)

    assert (by_owner.status_code, by_consumer.status_code, by_stranger.status_code) == (
        200,
        200,
        404,
    )
    assert sorted(m["member_id"] for m in by_owner.json()["members"]) == sorted(
        [t.consumer.tenant, "another-tenant"]
    )
    assert [m["member_id"] for m in by_consumer.json()["members"]] == [t.consumer.tenant]
    assert by_owner.json()["schema"] == "/v2/schemas/members"


def test_get_member(image_target: ImagesTarget, image: str) -> None:
    """The owner and the member itself read a member; a stranger and unknown ids are 404."""
    t = image_target
    t.share(image)
    url = members_url(t, image, t.consumer.tenant)

    assert t.http.get(url, headers=t.owner.headers).status_code == 200
    assert t.http.get(url, headers=t.consumer.headers).json()["status"] == "pending"
    assert t.http.get(url, headers=t.stranger.headers).status_code == 404
    assert t.http.get(members_url(t, image, "nobody"), headers=t.owner.headers).status_code == 404


@pytest.mark.parametrize("status", ["accepted", "rejected", "pending"])
def test_consumer_sets_its_status(image_target: ImagesTarget, image: str, status: str) -> None:
    """The member changes its own status to any of the three values (200)."""
    t = image_target
    t.share(image, "accepted" if status == "pending" else None)

    resp = t.http.put(
        members_url(t, image, t.consumer.tenant),
        headers=t.consumer.headers,
        json={"status": status},
    )

    assert resp.status_code == 200
    assert resp.json()["status"] == status


def test_others_cannot_set_member_status(image_target: ImagesTarget, image: str) -> None:
    """The owner gets 403 changing a member's status, a stranger 404."""
    t = image_target
    t.share(image)
    url = members_url(t, image, t.consumer.tenant)

    assert t.http.put(url, headers=t.owner.headers, json={"status": "accepted"}).status_code == 403
    assert (
        t.http.put(url, headers=t.stranger.headers, json={"status": "accepted"}).status_code == 404
    )
    assert t.http.get(url, headers=t.consumer.headers).json()["status"] == "pending"


@pytest.mark.parametrize("body", [{"status": "maybe"}, {}], ids=["unknown", "missing"])
def test_bad_member_status_is_400(
    image_target: ImagesTarget, image: str, body: dict[str, str]
) -> None:
    """A status other than pending, accepted or rejected is a 400."""
    t = image_target
    t.share(image)

    resp = t.http.put(
        members_url(t, image, t.consumer.tenant), headers=t.consumer.headers, json=body
    )

    assert resp.status_code == 400


@pytest.mark.parametrize("status", ["pending", "rejected"])
def test_unaccepted_share_is_listed_only_on_request(
    image_target: ImagesTarget, image: str, status: str
) -> None:
    """A pending or rejected share is missing from the default list, shown by member_status."""
    t = image_target
    t.share(image, None if status == "pending" else status)

    assert image not in t.listing(t.consumer, limit=1000)
    assert image in t.listing(t.consumer, visibility="shared", member_status=status, limit=1000)
    assert image in t.listing(t.consumer, visibility="shared", member_status="all", limit=1000)
    assert image not in t.listing(t.consumer, visibility="shared", limit=1000)


def test_accepted_share_is_listed_by_shared_visibility(
    image_target: ImagesTarget, image: str
) -> None:
    """An accepted share is in the consumer's ``visibility=shared`` list, also by ``owner``."""
    t = image_target
    t.share(image, "accepted")

    assert image in t.listing(t.consumer, visibility="shared", limit=1000)
    assert image in t.listing(t.consumer, visibility="shared", owner=t.owner.tenant)
    assert image not in t.listing(
        t.consumer, visibility="shared", member_status="pending", limit=1000
    )


@pytest.mark.parametrize("status", ["pending", "accepted", "rejected"])
def test_member_gets_image_by_id_whatever_its_status(
    image_target: ImagesTarget, image: str, status: str
) -> None:
    """A member reads the image by id whether its share is pending, accepted or rejected."""
    t = image_target
    t.share(image, None if status == "pending" else status)

    resp = t.http.get(t.api(f"/v2/images/{image}"), headers=t.consumer.headers)

    assert resp.status_code == 200
    assert resp.json()["id"] == image


def test_delete_member_revokes_access(image_target: ImagesTarget, image: str) -> None:
    """DELETE of a member answers 204; the consumer then gets 404 for image and member."""
    t = image_target
    t.share(image, "accepted")
    url = members_url(t, image, t.consumer.tenant)

    resp = t.http.delete(url, headers=t.owner.headers)

    assert resp.status_code == 204
    assert t.http.get(t.api(f"/v2/images/{image}"), headers=t.consumer.headers).status_code == 404
    assert t.http.get(url, headers=t.consumer.headers).status_code == 404
    assert image not in t.listing(t.consumer, limit=1000)
    assert t.http.delete(url, headers=t.owner.headers).status_code == 404


def test_only_the_owner_deletes_members(image_target: ImagesTarget, image: str) -> None:
    """The consumer gets 403 removing its own membership, a stranger 404."""
    t = image_target
    t.share(image)
    url = members_url(t, image, t.consumer.tenant)

    assert t.http.delete(url, headers=t.consumer.headers).status_code == 403
    assert t.http.delete(url, headers=t.stranger.headers).status_code == 404
    assert t.http.get(url, headers=t.owner.headers).status_code == 200
