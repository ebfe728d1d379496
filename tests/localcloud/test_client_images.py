"""ImagesClient against the local cloud over HTTP: images, filters, paging, patches, tags, members.

Every image here was made the Rackspace way, through the client: a small VHD
uploaded to Cloud Files and imported by a real task (``tests.helpers.images``).
One module-scoped ``ImagePool`` imports them all up front; each test takes its
own. Properties, names, tags and protection are then set with ``update_image``.
Tasks themselves are covered in ``test_client_tasks.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from cloudimages.client import ImagesClient
from cloudimages.errors import Forbidden, NotFound
from cloudimages.localcloud import LocalCloud
from tests.helpers import image_scenarios as scenarios
from tests.helpers.clients import images_client, no_waiting  # noqa: F401 - autouse fixture
from tests.helpers.images import ImagePool
from tests.helpers.scripted_server import Faults

RANDOM_IMAGES = 20  # 10 tests take ``mine``, paging takes 5 + 4, filters takes 1
EMPTY_IMAGES = 1  # filters: an image that is stored smaller


@pytest.fixture(scope="module")
def pool(cloud: LocalCloud, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImagePool]:
    """alice's images, imported once for the module; deleted at its end."""
    with images_client(cloud, "alice") as images:
        made = ImagePool(images, tmp_path_factory.mktemp("vhds"))
        made.fill(RANDOM_IMAGES)
        made.fill(EMPTY_IMAGES, empty=True)
        yield made
        made.close()


@pytest.fixture
def alice(cloud: LocalCloud) -> Iterator[ImagesClient]:
    with images_client(cloud, "alice") as client:
        yield client


@pytest.fixture
def bob(cloud: LocalCloud) -> Iterator[ImagesClient]:
    with images_client(cloud, "bob") as client:
        yield client


@pytest.fixture
def mine(pool: ImagePool) -> str:
    """A fresh active image of alice's, as imported: no tags, no custom properties."""
    return pool.take()


# --- images -------------------------------------------------------------------------
def test_list_includes_public_and_own_images_as_typed_models(
    alice: ImagesClient, mine: str
) -> None:
    """The default list is public + own; fields are typed, custom properties kept."""
    alice.update_image(mine, {"com.example.role": "web"})
    images = {i.id: i for i in alice.list_images()}
    assert mine in images
    public = [i for i in images.values() if i.visibility == "public"]
    assert public
    assert public[0].properties["os_type"] == "linux"
    image = images[mine]
    assert image.properties == {"com.example.role": "web"}
    assert (image.status, image.visibility, image.owner) == (
        "active",
        "private",
        alice.session.tenant_id,
    )
    assert (image.disk_format, image.container_format) == ("vhd", "ovf")
    assert image.size is not None
    assert image.size > 0
    assert image.checksum is not None
    assert image.created_at is not None
    assert image.self_link == f"/v2/images/{mine}"


@pytest.mark.parametrize("count", [5, 4])
def test_paging_follows_host_relative_next_links(
    alice: ImagesClient, pool: ImagePool, count: int
) -> None:
    """Pages of 2 are followed to the end, including an empty last page after a full one."""
    batch = uuid.uuid4().hex
    made = set(pool.take_many(count))
    for image_id in made:
        alice.update_image(image_id, {"batch": batch})
    found = list(alice.list_images(properties={"batch": batch}, page_size=2))
    assert {i.id for i in found} == made
    assert len(found) == count


def test_filters_are_sent_as_the_spec_names_them(alice: ImagesClient, pool: ImagePool) -> None:
    """tags (all required), name, size bounds, visibility and sorting narrow the list."""
    batch = uuid.uuid4().hex
    small, large = pool.take(empty=True), pool.take()
    alice.update_image(small, {"name": "b-small", "batch": batch}, tags=["x", "y"])
    alice.update_image(large, {"name": "a-large", "batch": batch}, tags=["x"])
    small_size = alice.get_image(small).size
    large_size = alice.get_image(large).size
    assert small_size is not None
    assert large_size is not None
    assert small_size < large_size  # an all-zero disk is stored sparse
    props = {"batch": batch}

    def ids(**filters: Any) -> list[str]:
        return [i.id for i in alice.list_images(properties=props, **filters)]

    assert ids(tags=["x", "y"]) == [small]
    assert ids(name="a-large") == [large]
    assert ids(size_min=small_size + 1) == [large]
    assert ids(size_max=small_size) == [small]
    assert ids(sort_key="name", sort_dir="asc") == [large, small]
    assert ids(sort_key="name", sort_dir="desc") == [small, large]
    assert ids(visibility="public") == []
    assert set(ids(status="active", owner=alice.session.tenant_id)) == {small, large}


def test_get_image_of_another_account_is_not_found(
    alice: ImagesClient, bob: ImagesClient, mine: str
) -> None:
    """A private image of someone else is a 404 whose message names the call."""
    assert alice.get_image(mine).id == mine
    with pytest.raises(NotFound) as caught:
        bob.get_image(mine)
    assert caught.value.status_code == 404
    assert f"GET /v2/images/{mine} failed with 404" in str(caught.value)


def test_update_image_adds_replaces_and_removes_in_one_patch(
    alice: ImagesClient, mine: str
) -> None:
    """Base attributes are replaced, custom ones added or replaced by presence, tags set."""
    alice.update_image(mine, {"com.example.old": "1", "com.example.keep": "k"})
    updated = alice.update_image(
        mine,
        {"name": "renamed", "min_ram": 512, "os_distro": "ubuntu", "com.example.keep": "k2"},
        remove=["com.example.old", "com.example.absent"],
        tags=["blue", "green", "blue"],
    )
    assert updated.name == "renamed"
    assert updated.min_ram == 512
    assert updated.os_distro == "ubuntu"
    assert updated.tags == ["blue", "green"]
    assert updated.properties == {"com.example.keep": "k2"}
    assert alice.get_image(mine).model_dump() == updated.model_dump()


def test_update_with_nothing_to_change_sends_no_patch(
    alice: ImagesClient, mine: str, faults: Faults
) -> None:
    """Asking for what is already there returns the image untouched: no PATCH is sent.

    A fault rule on PATCH of this image is the tripwire: it would answer 409.
    """
    before = alice.update_image(mine, {"name": "same"})
    tripwire = faults.add(
        service="images:DFW", method="PATCH", path=f"/v2/images/{mine}", status=409
    )
    image = alice.update_image(mine, {"name": "same"}, remove=["nothing-here"], tags=[])
    assert faults.fired(tripwire) == 0
    assert image.name == "same"
    assert image.updated_at == before.updated_at


def test_update_refused_by_the_service_raises_typed_errors(
    alice: ImagesClient, bob: ImagesClient, mine: str
) -> None:
    """Non-owners, Rackspace-reserved properties and base removals are Forbidden."""
    public = next(alice.list_images(visibility="public"))
    with pytest.raises(Forbidden):
        alice.update_image(public.id, {"name": "mine now"})
    with pytest.raises(Forbidden):
        alice.update_image(mine, {"com.rackspace__1__options": "0"})
    with pytest.raises(Forbidden):
        alice.update_image(mine, remove=["name"])
    with pytest.raises(NotFound):
        bob.update_image(mine, {"name": "bob's"})


def test_delete_protected_image_is_forbidden_until_unprotected(
    alice: ImagesClient, mine: str
) -> None:
    """Protected images cannot be deleted; after unprotecting, they can, and are gone."""
    scenarios.check_delete_protected(alice, mine)


def test_tags_are_added_idempotently_and_removed_once(alice: ImagesClient, mine: str) -> None:
    """Adding a tag twice keeps one; removing a missing tag is NotFound."""
    scenarios.check_tags_added_idempotently(alice, mine, "gold v1")


def test_schemas_are_served(alice: ImagesClient) -> None:
    """get_schema returns the live JSON Schema and refuses unknown names locally."""
    assert "properties" in alice.get_schema("image")
    assert alice.get_schema("members")["name"] == "members"
    with pytest.raises(ValueError, match="no schema 'nope'"):
        alice.get_schema("nope")


# --- members --------------------------------------------------------------------------
def test_sharing_lifecycle(alice: ImagesClient, bob: ImagesClient, mine: str) -> None:
    """Offer, discover, accept, see in the default list, and revoke."""
    scenarios.check_sharing_lifecycle(alice, bob, mine)


# --- non-idempotent calls under injected faults ----------------------------------------
def test_add_member_survives_a_503_without_sharing_twice(
    alice: ImagesClient, bob: ImagesClient, mine: str, faults: Faults
) -> None:
    """The first POST fails; the member is looked up, not found, and added once."""
    rule = faults.add(
        service="images:DFW", method="POST", path="/v2/images/*/members", status=503, times=1
    )
    member = alice.add_member(mine, bob.session.tenant_id)
    assert member.status == "pending"
    assert faults.fired(rule) == 1
    assert [m.member_id for m in alice.list_members(mine)] == [bob.session.tenant_id]


def test_update_image_survives_a_reset_patch(
    alice: ImagesClient, mine: str, faults: Faults
) -> None:
    """A PATCH cut off by a reset is re-planned from a fresh read and applied once."""
    rule = faults.add(
        service="images:DFW", method="PATCH", path=f"/v2/images/{mine}", action="reset", times=1
    )
    updated = alice.update_image(mine, {"com.example.stage": "blue"})
    assert updated.properties == {"com.example.stage": "blue"}
    assert faults.fired(rule) == 1
