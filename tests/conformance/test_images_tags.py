"""Image tags: PUT and DELETE of one tag, and who may change them.

Every test runs against a real Glance 33 and against the local cloud.
"""

from __future__ import annotations

from images_fixtures import *  # noqa: F403 - registers image_target and its servers
from images_targets import ImagesTarget, unique


def tag_url(t: ImagesTarget, image: str, tag: str) -> str:
    return t.api(f"/v2/images/{image}/tags/{tag}")


def test_put_tag_is_idempotent(image_target: ImagesTarget) -> None:
    """PUT of a tag answers 204 with no body, and a second PUT does not duplicate it."""
    t = image_target
    image = t.make_image(t.owner, unique())

    first = t.http.put(tag_url(t, image, "beefy"), headers=t.owner.headers)
    second = t.http.put(tag_url(t, image, "beefy"), headers=t.owner.headers)

    assert (first.status_code, second.status_code) == (204, 204)
    assert first.content == b""
    assert t.image(t.owner, image)["tags"] == ["beefy"]


def test_delete_tag_then_404(image_target: ImagesTarget) -> None:
    """DELETE of a present tag answers 204; deleting it again is a 404."""
    t = image_target
    image = t.make_image(t.owner, unique())
    t.http.put(tag_url(t, image, "old"), headers=t.owner.headers)

    first = t.http.delete(tag_url(t, image, "old"), headers=t.owner.headers)
    second = t.http.delete(tag_url(t, image, "old"), headers=t.owner.headers)

    assert (first.status_code, second.status_code) == (204, 404)
    assert t.image(t.owner, image)["tags"] == []


def test_tags_are_listed_by_tag_filter(image_target: ImagesTarget) -> None:
    """A tag added with PUT is found by the ``tag`` list filter."""
    t = image_target
    image, tag = t.make_image(t.owner, unique()), unique("tag")

    t.http.put(tag_url(t, image, tag), headers=t.owner.headers)

    assert t.listing(t.owner, tag=tag) == [image]


def test_only_the_owner_tags(image_target: ImagesTarget) -> None:
    """A consumer who sees the image gets 403 on tag changes; a stranger gets 404."""
    t = image_target
    image = t.make_image(t.owner, unique())
    t.http.put(tag_url(t, image, "kept"), headers=t.owner.headers)
    t.share(image)

    assert t.http.put(tag_url(t, image, "x"), headers=t.consumer.headers).status_code == 403
    assert t.http.delete(tag_url(t, image, "kept"), headers=t.consumer.headers).status_code == 403
    assert t.http.put(tag_url(t, image, "x"), headers=t.stranger.headers).status_code == 404
    assert t.http.delete(tag_url(t, image, "kept"), headers=t.stranger.headers).status_code == 404
    assert t.image(t.owner, image)["tags"] == ["kept"]
