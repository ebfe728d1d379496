"""ImagesClient against a real OpenStack Glance 33, where Cloud Images and Glance overlap.

The client speaks Cloud Images v2, which is Glance's v2 API as of Juno; listing with
filters and paging, image patches, tags, members and schemas are the same calls on
both. Images are created the upstream way (``POST /v2/images`` + ``PUT .../file``,
raw/bare) by ``images_targets.glance_create``, since Cloud Images has no such call
and the client has no method for it; tasks are left out (Glance reserves them for
admins and has no export, see ``images_differences``).

Authentication is the one thing that differs: ``AccountSession`` logs in to Identity
and sends ``X-Auth-Token``, while this Glance trusts ``X-Identity-Status`` /
``X-Project-Id`` / ``X-Roles`` headers (no Keystone). ``TrustedHeadersSession`` is an
adapter to that scheme: an ``AccountSession`` whose token is a placeholder and whose
requests carry the project's trusted headers; ``request`` itself (retries, 401
handling, error mapping) is the real one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest
from images_fixtures import *  # noqa: F403 - registers real_glance and glance_images
from images_fixtures import glance_account
from images_targets import ImagesAccount, ImagesTarget, unique
from pydantic import SecretStr

from cloudimages.client import AccountSession, Credentials, ImagesClient, RetryPolicy
from cloudimages.errors import Forbidden, NotFound
from tests.helpers import image_scenarios as scenarios
from tests.helpers.clients import no_waiting  # noqa: F401 - autouse fixture

pytestmark = pytest.mark.slow

PLACEHOLDER_TOKEN = "trusted-headers"  # Glance's trusted flavour does not check tokens


class TrustedHeadersSession(AccountSession):
    """An ``AccountSession`` for Glance's header-trusting auth instead of Identity v2.0.

    ``ImagesClient`` uses a session's ``request`` (with ``retry``), ``retry`` policy,
    ``endpoint``/``region`` (when no endpoint is given) and callers use ``tenant_id``;
    those answer from the project and the Glance URL. No login ever happens.
    """

    def __init__(self, account: ImagesAccount, glance_url: str) -> None:
        creds = Credentials(
            username=account.tenant,
            api_key=SecretStr("unused"),
            identity_url="http://identity.invalid/v2.0",
        )
        super().__init__(creds, retry=RetryPolicy(attempts=3))
        self.account = account
        self.glance_url = glance_url

    def token(self) -> str:
        return PLACEHOLDER_TOKEN

    def reauthenticate(self, stale: str | None = None) -> str:
        return PLACEHOLDER_TOKEN

    @property
    def tenant_id(self) -> str:
        return self.account.tenant

    @property
    def region(self) -> str:
        return "REGIONONE"

    def endpoint(self, service_type: str, region: str | None = None) -> str:
        assert service_type == "image", f"this Glance serves only images, not {service_type}"
        return f"{self.glance_url}/v2"

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        return super().request(
            method, url, headers={**self.account.headers, **(headers or {})}, **kwargs
        )


@pytest.fixture
def glance(glance_images: ImagesTarget) -> Iterator[ImagesTarget]:
    """A per-test view of the real Glance; the images it made are deleted afterwards."""
    view = glance_images.view()
    yield view
    view.cleanup()


def client_for(target: ImagesTarget, account: ImagesAccount) -> ImagesClient:
    return ImagesClient(TrustedHeadersSession(account, target.url), endpoint=target.api("/v2"))


@pytest.fixture
def owner(glance: ImagesTarget) -> Iterator[ImagesClient]:
    client = client_for(glance, glance.owner)
    yield client
    client.session.close()


@pytest.fixture
def consumer(glance: ImagesTarget) -> Iterator[ImagesClient]:
    client = client_for(glance, glance.consumer)
    yield client
    client.session.close()


@pytest.fixture
def stranger(glance: ImagesTarget) -> Iterator[ImagesClient]:
    client = client_for(glance, glance.stranger)
    yield client
    client.session.close()


@pytest.fixture
def image(glance: ImagesTarget) -> str:
    """A fresh active image of the owner (Glance's default visibility: shared)."""
    return glance.make_image(glance.owner, unique("client"))


# --- listing ------------------------------------------------------------------------------
def test_list_includes_public_and_own_images_as_typed_models(
    glance: ImagesTarget, owner: ImagesClient, image: str
) -> None:
    """The default list has the public image and our own; fields are typed."""
    owner.update_image(image, {"com.example.role": "web"})
    images = {i.id: i for i in owner.list_images()}
    assert glance.public_image in images
    assert images[glance.public_image].visibility == "public"
    mine = images[image]
    assert (mine.status, mine.owner) == ("active", glance.owner.tenant)
    assert (mine.disk_format, mine.container_format) == ("raw", "bare")
    assert mine.size == 1024
    assert mine.checksum is not None
    assert mine.created_at is not None
    assert mine.self_link == f"/v2/images/{image}"
    assert mine.properties["com.example.role"] == "web"


@pytest.mark.parametrize("count", [5, 4])
def test_paging_follows_host_relative_next_links(
    glance: ImagesTarget, owner: ImagesClient, count: int
) -> None:
    """Pages of 2 are followed to the end, including an empty last page after a full one."""
    batch = uuid.uuid4().hex
    made = {glance.make_image(glance.owner, unique("page"), batch=batch) for _ in range(count)}
    found = list(owner.list_images(properties={"batch": batch}, page_size=2))
    assert {i.id for i in found} == made
    assert len(found) == count


def test_filters_by_tag_name_property_and_sorting(
    glance: ImagesTarget, owner: ImagesClient, stranger: ImagesClient
) -> None:
    """tags (all required), name, custom properties and sorting narrow the list."""
    batch = uuid.uuid4().hex
    first = glance.make_image(glance.owner, "a-" + unique(), batch=batch)
    second = glance.make_image(glance.owner, "b-" + unique(), batch=batch)
    owner.update_image(first, tags=["x"])
    owner.update_image(second, {"com.example.tier": "gold"}, tags=["x", "y"])
    props = {"batch": batch}

    def ids(client: ImagesClient = owner, **filters: Any) -> list[str]:
        return [i.id for i in client.list_images(properties=props, **filters)]

    assert ids(tags=["x", "y"]) == [second]
    assert ids(tags=["x"], sort_key="name", sort_dir="asc") == [first, second]
    assert ids(sort_key="name", sort_dir="desc") == [second, first]
    assert ids(name=owner.get_image(first).name) == [first]
    assert [i.id for i in owner.list_images(properties={**props, "com.example.tier": "gold"})] == [
        second
    ]
    assert ids(visibility="public") == []
    assert ids(stranger) == []


# --- one image ------------------------------------------------------------------------
def test_get_image_and_not_found_mapping(
    glance: ImagesTarget, owner: ImagesClient, stranger: ImagesClient, image: str
) -> None:
    """Our image is readable; another project's non-public image and a made-up id are 404."""
    assert owner.get_image(image).id == image
    with pytest.raises(NotFound) as caught:
        stranger.get_image(image)
    assert caught.value.status_code == 404
    assert f"GET /v2/images/{image} failed with 404" in str(caught.value)
    with pytest.raises(NotFound):
        owner.get_image(str(uuid.uuid4()))
    assert stranger.get_image(glance.public_image).visibility == "public"


def test_update_image_sets_replaces_and_removes_in_one_patch(
    owner: ImagesClient, image: str
) -> None:
    """Base attributes are replaced, custom ones added or replaced by presence, tags set."""
    owner.update_image(image, {"com.example.old": "1", "com.example.keep": "k"})
    updated = owner.update_image(
        image,
        {"name": "renamed", "min_ram": 512, "com.example.keep": "k2", "com.example.new": "n"},
        remove=["com.example.old", "com.example.absent"],
        tags=["blue", "green", "blue"],
    )
    assert updated.name == "renamed"
    assert updated.min_ram == 512
    assert sorted(updated.tags) == ["blue", "green"]  # Glance keeps tags as a set
    custom = {k: v for k, v in updated.properties.items() if k.startswith("com.example.")}
    assert custom == {"com.example.keep": "k2", "com.example.new": "n"}
    again = owner.get_image(image)
    assert (again.name, again.min_ram, sorted(again.tags)) == ("renamed", 512, ["blue", "green"])
    assert {k: v for k, v in again.properties.items() if k.startswith("com.example.")} == custom


def test_update_with_nothing_to_change_sends_no_patch(owner: ImagesClient, image: str) -> None:
    """Asking for what is already there returns the image untouched (updated_at kept)."""
    before = owner.update_image(image, {"name": "same", "com.example.x": "1"})
    after = owner.update_image(image, {"name": "same", "com.example.x": "1"}, remove=["nope"])
    assert after.updated_at == before.updated_at
    assert owner.get_image(image).updated_at == before.updated_at


def test_update_refused_by_the_service_raises_typed_errors(
    glance: ImagesTarget, owner: ImagesClient, stranger: ImagesClient, image: str
) -> None:
    """Changing someone else's public image is Forbidden; an invisible one is NotFound."""
    with pytest.raises(Forbidden):
        owner.update_image(glance.public_image, {"name": "mine now"})
    with pytest.raises(NotFound):
        stranger.update_image(image, {"name": "stranger's"})
    with pytest.raises(Forbidden):
        owner.update_image(image, remove=["name"])


def test_delete_protected_image_is_forbidden_until_unprotected(
    owner: ImagesClient, image: str
) -> None:
    """Protected images cannot be deleted; after unprotecting, they can, and are gone."""
    scenarios.check_delete_protected(owner, image)


# --- tags -------------------------------------------------------------------------------
def test_tags_are_added_idempotently_and_removed_once(owner: ImagesClient, image: str) -> None:
    """Adding a tag twice keeps one; removing a missing tag is NotFound."""
    scenarios.check_tags_added_idempotently(owner, image, "gold-v1")


def test_tags_of_another_projects_image_are_not_ours_to_change(
    glance: ImagesTarget, owner: ImagesClient, stranger: ImagesClient, image: str
) -> None:
    """An image we cannot see is NotFound; a public one of another project is Forbidden."""
    with pytest.raises(NotFound):
        stranger.add_tag(image, "nope")
    with pytest.raises(Forbidden):
        owner.add_tag(glance.public_image, "nope")


# --- members ------------------------------------------------------------------------------
def test_sharing_lifecycle(
    glance: ImagesTarget, owner: ImagesClient, consumer: ImagesClient, image: str
) -> None:
    """Offer, discover, accept, see in the default list, and revoke."""
    scenarios.check_sharing_lifecycle(owner, consumer, image)


def test_members_are_the_owners_to_manage(
    owner: ImagesClient, consumer: ImagesClient, stranger: ImagesClient, image: str
) -> None:
    """A consumer may not share the image on; a stranger cannot see its members at all."""
    owner.add_member(image, consumer.session.tenant_id)
    with pytest.raises(Forbidden):
        consumer.add_member(image, stranger.session.tenant_id)
    with pytest.raises(NotFound):
        stranger.list_members(image)
    with pytest.raises(NotFound):
        stranger.set_member_status(image, stranger.session.tenant_id, "accepted")


# --- schemas ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["image", "images", "member", "members", "task", "tasks"])
def test_schemas_are_served(owner: ImagesClient, name: str) -> None:
    """Every schema the client knows is published by Glance, under its own name."""
    schema = owner.get_schema(name)
    assert schema["name"] == name
    assert "properties" in schema or "links" in schema


def test_unknown_schema_is_refused_before_any_request(owner: ImagesClient) -> None:
    with pytest.raises(ValueError, match="no schema 'nope'"):
        owner.get_schema("nope")


def test_glance_account_headers_reach_glance(glance: ImagesTarget) -> None:
    """The adapter's requests are Glance's trusted headers (a reader-only role is read-only)."""
    reader = client_for(glance, glance_account(glance.owner.tenant, roles="reader"))
    image = glance.make_image(glance.owner, unique("ro"))
    assert reader.get_image(image).owner == glance.owner.tenant
    with pytest.raises(Forbidden):
        reader.update_image(image, {"name": "reader's"})
    reader.session.close()
