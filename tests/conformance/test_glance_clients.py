"""A stock Glance v2 client (python-glanceclient) works unchanged against the local cloud.

It is given a pre-authenticated token and the catalog's Cloud Images endpoint, as a user
of Rackspace would do, and exercises list, show, update, tags, members and tasks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from images_fixtures import *  # noqa: F403 - registers image_target and its servers
from images_targets import ImagesAccount, ImagesTarget, localcloud_upload_vhd, unique

glanceclient = pytest.importorskip("glanceclient")


@pytest.fixture
def cloud(localcloud_images: ImagesTarget) -> Iterator[ImagesTarget]:
    """A per-test view of the local cloud; its images are deleted afterwards."""
    view = localcloud_images.view()
    yield view
    view.cleanup()


def client(t: ImagesTarget, account: ImagesAccount) -> Any:
    """A v2 client (version taken from the endpoint URL) using the account's token."""
    return glanceclient.Client(endpoint=t.api("/v2"), token=account.headers["X-Auth-Token"])


def test_list_pages_through_every_image(cloud: ImagesTarget) -> None:
    """``images.list`` follows ``next`` links page by page and sees the owner's images."""
    ids = {cloud.make_image(cloud.owner, unique()) for _ in range(3)}

    listed = [i["id"] for i in client(cloud, cloud.owner).images.list(page_size=2)]

    assert ids <= set(listed)
    assert len(listed) == len(set(listed))
    assert cloud.public_image in listed


def test_list_with_filters(cloud: ImagesTarget) -> None:
    """``images.list(filters=...)`` passes property and tag filters through."""
    mark = unique("batch")
    image = cloud.make_image(cloud.owner, unique(), x_batch=mark)

    listed = list(client(cloud, cloud.owner).images.list(filters={"x_batch": mark}))

    assert [i["id"] for i in listed] == [image]


def test_show(cloud: ImagesTarget) -> None:
    """``images.get`` returns the image as a schema-validated model."""
    name = unique()
    image = cloud.make_image(cloud.owner, name)

    shown = client(cloud, cloud.owner).images.get(image)

    assert (shown["id"], shown["name"], shown["status"]) == (image, name, "active")
    assert shown["owner"] == cloud.owner.tenant


def test_update_and_remove_properties(cloud: ImagesTarget) -> None:
    """``images.update`` sets and removes properties with the v2.1 JSON patch."""
    image = cloud.make_image(cloud.owner, unique(), x_colour="red")
    glance = client(cloud, cloud.owner)

    updated = glance.images.update(
        image, name="renamed", min_ram=256, x_size="big", remove_props=["x_colour"]
    )

    assert (updated["name"], updated["min_ram"], updated["x_size"]) == ("renamed", 256, "big")
    assert "x_colour" not in cloud.image(cloud.owner, image)


def test_tags(cloud: ImagesTarget) -> None:
    """``image_tags.update`` and ``image_tags.delete`` add and remove one tag."""
    image = cloud.make_image(cloud.owner, unique())
    glance = client(cloud, cloud.owner)

    glance.image_tags.update(image, "beefy")
    assert cloud.image(cloud.owner, image)["tags"] == ["beefy"]
    glance.image_tags.delete(image, "beefy")

    assert cloud.image(cloud.owner, image)["tags"] == []


def test_members(cloud: ImagesTarget) -> None:
    """Create, list, accept and delete a member through ``image_members``."""
    image = cloud.make_image(cloud.owner, unique())
    producer, consumer = client(cloud, cloud.owner), client(cloud, cloud.consumer)

    created = producer.image_members.create(image, cloud.consumer.tenant)
    assert created["status"] == "pending"
    accepted = consumer.image_members.update(image, cloud.consumer.tenant, "accepted")
    assert accepted["status"] == "accepted"
    assert [m["member_id"] for m in producer.image_members.list(image)] == [cloud.consumer.tenant]
    assert image in [i["id"] for i in consumer.images.list()]
    producer.image_members.delete(image, cloud.consumer.tenant)

    assert list(producer.image_members.list(image)) == []


def test_not_found_raises_the_client_error(cloud: ImagesTarget) -> None:
    """A 404 from the local cloud becomes glanceclient's ``HTTPNotFound``."""
    from glanceclient import exc

    with pytest.raises(exc.HTTPNotFound):
        client(cloud, cloud.stranger).images.get(cloud.make_image(cloud.owner, unique()))


def test_import_task(cloud: ImagesTarget) -> None:
    """``tasks.create`` starts an import; ``tasks.get`` and ``tasks.list`` follow it."""
    glance = client(cloud, cloud.owner)
    import_from = localcloud_upload_vhd(cloud, cloud.owner)

    task = glance.tasks.create(
        type="import", input={"import_from": import_from, "image_properties": {"name": unique()}}
    )
    deadline = time.monotonic() + 60
    while task["status"] not in ("success", "failure") and time.monotonic() < deadline:
        time.sleep(0.2)
        task = glance.tasks.get(task["id"])

    assert task["status"] == "success", task
    assert task["id"] in [t["id"] for t in glance.tasks.list()]
    glance.images.delete(task["result"]["image_id"])
