"""ImagesClient against the local cloud: images, filters, paging, patches, tags, members.

Tasks are exercised against a small in-test tasks service (``FakeTasks``)
because the local cloud's task engine is not wired into ``app.py`` yet, and
because only a fake can create a task and then drop the answer, which is
what ``create_import_task`` must survive without creating a second task.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from cloudimages.client import AccountSession, Credentials, ImagesClient, RetryPolicy, set_testing
from cloudimages.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    TaskFailed,
    TaskTimedOut,
)
from cloudimages.localcloud import LocalCloud
from cloudimages.localcloud.faults import reset_connection
from cloudimages.localcloud.images.store import ImageRecord, now_iso
from tests.helpers.identity import login


def make_image(cloud: LocalCloud, owner: str, *, region: str = "DFW", **fields: Any) -> str:
    """Put a private, active image owned by ``owner`` straight into the region's store.

    Cloud Images only creates images through import tasks; until the task
    engine is wired into the local cloud, tests make images in-process.
    Switch this to ``create_import_task`` + ``wait_for_task`` then.
    """
    assert cloud.services is not None
    image_id = str(uuid.uuid4())
    now = now_iso()
    doc: dict[str, Any] = {
        "id": image_id,
        "name": f"image-{image_id[:8]}",
        "status": "active",
        "visibility": "private",
        "protected": False,
        "container_format": "ovf",
        "disk_format": "vhd",
        "size": 4 * 1024 * 1024,
        "checksum": uuid.uuid4().hex,
        "min_disk": 1,
        "min_ram": 256,
        "owner": cloud.account(owner).tenant_id,
        "tags": [],
        "created_at": now,
        "updated_at": now,
        **fields,
    }
    cloud.services.image_stores[region].put_image(ImageRecord(doc, None))
    return image_id


def _client(cloud: LocalCloud, username: str, **options: Any) -> Iterator[ImagesClient]:
    creds = Credentials(
        username=username,
        api_key=SecretStr(f"{username}-api-key"),
        identity_url=cloud.identity_url,
    )
    with AccountSession(creds, retry=RetryPolicy(attempts=3)) as session:
        yield ImagesClient(session, **options)


@pytest.fixture
def alice(cloud: LocalCloud) -> Iterator[ImagesClient]:
    yield from _client(cloud, "alice")


@pytest.fixture
def bob(cloud: LocalCloud) -> Iterator[ImagesClient]:
    yield from _client(cloud, "bob")


@pytest.fixture(autouse=True)
def no_waiting() -> Iterator[None]:
    set_testing(True)
    yield
    set_testing(False)


# --- images -------------------------------------------------------------------------
def test_list_includes_public_and_own_images_as_typed_models(
    cloud: LocalCloud, alice: ImagesClient
) -> None:
    """The default list is public + own; fields are typed, custom properties kept."""
    mine = make_image(cloud, "alice", **{"com.example.role": "web"})
    images = {i.id: i for i in alice.list_images()}
    assert mine in images
    public = [i for i in images.values() if i.visibility == "public"]
    assert public
    assert public[0].properties["os_type"] == "linux"
    assert images[mine].properties == {"com.example.role": "web"}
    assert images[mine].created_at is not None
    assert images[mine].self_link == f"/v2/images/{mine}"


@pytest.mark.parametrize("count", [5, 4])
def test_paging_follows_host_relative_next_links(
    cloud: LocalCloud, alice: ImagesClient, count: int
) -> None:
    """Pages of 2 are followed to the end, including an empty last page after a full one."""
    batch = uuid.uuid4().hex
    made = {make_image(cloud, "alice", batch=batch) for _ in range(count)}
    found = list(alice.list_images(properties={"batch": batch}, page_size=2))
    assert {i.id for i in found} == made
    assert len(found) == count


def test_filters_are_sent_as_the_spec_names_them(cloud: LocalCloud, alice: ImagesClient) -> None:
    """tags (all required), name, size bounds, visibility and sorting narrow the list."""
    batch = uuid.uuid4().hex
    small = make_image(cloud, "alice", name="b-small", size=10, tags=["x", "y"], batch=batch)
    large = make_image(cloud, "alice", name="a-large", size=1000, tags=["x"], batch=batch)
    props = {"batch": batch}

    def ids(**filters: Any) -> list[str]:
        return [i.id for i in alice.list_images(properties=props, **filters)]

    assert ids(tags=["x", "y"]) == [small]
    assert ids(name="a-large") == [large]
    assert ids(size_min=11) == [large]
    assert ids(size_max=10) == [small]
    assert ids(sort_key="name", sort_dir="asc") == [large, small]
    assert ids(visibility="public") == []


def test_get_image_of_another_account_is_not_found(
    cloud: LocalCloud, alice: ImagesClient, bob: ImagesClient
) -> None:
    """A private image of someone else is a 404 whose message names the call."""
    mine = make_image(cloud, "alice")
    assert alice.get_image(mine).id == mine
    with pytest.raises(NotFound) as caught:
        bob.get_image(mine)
    assert caught.value.status_code == 404
    assert f"GET /v2/images/{mine} failed with 404" in str(caught.value)


def test_update_image_adds_replaces_and_removes_in_one_patch(
    cloud: LocalCloud, alice: ImagesClient
) -> None:
    """Base attributes are replaced, custom ones added or replaced by presence, tags set."""
    mine = make_image(cloud, "alice", **{"com.example.old": "1", "com.example.keep": "k"})
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
    cloud: LocalCloud, alice: ImagesClient
) -> None:
    """Asking for what is already there returns the image untouched."""
    mine = make_image(cloud, "alice", name="same", updated_at="2020-01-01T00:00:00Z")
    image = alice.update_image(mine, {"name": "same"}, remove=["nothing-here"])
    assert image.updated_at is not None
    assert image.updated_at.year == 2020


def test_update_refused_by_the_service_raises_typed_errors(
    cloud: LocalCloud, alice: ImagesClient, bob: ImagesClient
) -> None:
    """Non-owners, Rackspace-reserved properties and base removals are Forbidden."""
    mine = make_image(cloud, "alice")
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
    cloud: LocalCloud, alice: ImagesClient
) -> None:
    """Protected images cannot be deleted; after unprotecting, they can, and are gone."""
    mine = make_image(cloud, "alice", protected=True)
    with pytest.raises(Forbidden, match="protected"):
        alice.delete_image(mine)
    alice.update_image(mine, {"protected": False})
    alice.delete_image(mine)
    with pytest.raises(NotFound):
        alice.get_image(mine)


def test_tags_are_added_idempotently_and_removed_once(
    cloud: LocalCloud, alice: ImagesClient
) -> None:
    """Adding a tag twice keeps one; removing a missing tag is NotFound."""
    mine = make_image(cloud, "alice")
    alice.add_tag(mine, "gold v1")
    alice.add_tag(mine, "gold v1")
    assert alice.get_image(mine).tags == ["gold v1"]
    alice.remove_tag(mine, "gold v1")
    assert alice.get_image(mine).tags == []
    with pytest.raises(NotFound):
        alice.remove_tag(mine, "gold v1")


def test_schemas_are_served(alice: ImagesClient) -> None:
    """get_schema returns the live JSON Schema and refuses unknown names locally."""
    assert "properties" in alice.get_schema("image")
    assert alice.get_schema("members")["name"] == "members"
    with pytest.raises(ValueError, match="no schema 'nope'"):
        alice.get_schema("nope")


# --- members --------------------------------------------------------------------------
def test_sharing_lifecycle(cloud: LocalCloud, alice: ImagesClient, bob: ImagesClient) -> None:
    """Offer, discover, accept, see in the default list, and revoke."""
    mine = make_image(cloud, "alice")
    bob_tenant = bob.session.tenant_id
    member = alice.add_member(mine, bob_tenant)
    assert (member.member_id, member.status) == (bob_tenant, "pending")
    assert mine not in {i.id for i in bob.list_images()}
    offers = bob.list_images(visibility="shared", member_status="pending")
    assert mine in {i.id for i in offers}
    with pytest.raises(Forbidden):
        alice.set_member_status(mine, bob_tenant, "accepted")
    accepted = bob.set_member_status(mine, bob_tenant, "accepted")
    assert accepted.status == "accepted"
    assert mine in {i.id for i in bob.list_images()}
    assert [m.member_id for m in alice.list_members(mine)] == [bob_tenant]
    assert bob.get_member(mine, bob_tenant).status == "accepted"
    with pytest.raises(Conflict):
        alice.add_member(mine, bob_tenant)
    alice.remove_member(mine, bob_tenant)
    with pytest.raises(NotFound):
        bob.get_image(mine)


# --- non-idempotent calls under injected faults ----------------------------------------
@pytest.fixture
def faults(cloud: LocalCloud) -> Iterator[dict[str, Any]]:
    """Post fault rules with ``httpx.post(**faults, json=rule)``; all are cleared after."""
    admin = login(cloud.identity_url, "admin", "admin-api-key")
    url = f"{cloud.identity_url.removesuffix('/v2.0')}/admin/faults"
    yield {"url": url, "headers": admin.headers}
    assert httpx.delete(url, headers=admin.headers).status_code == 204


def test_add_member_survives_a_503_without_sharing_twice(
    cloud: LocalCloud, alice: ImagesClient, bob: ImagesClient, faults: dict[str, Any]
) -> None:
    """The first POST fails; the member is looked up, not found, and added once."""
    mine = make_image(cloud, "alice")
    rule = {"service": "images:DFW", "method": "POST", "path": "/v2/images/*/members"}
    assert httpx.post(**faults, json={**rule, "status": 503, "times": 1}).status_code == 201
    member = alice.add_member(mine, bob.session.tenant_id)
    assert member.status == "pending"
    assert [m.member_id for m in alice.list_members(mine)] == [bob.session.tenant_id]


def test_update_image_survives_a_reset_patch(
    cloud: LocalCloud, alice: ImagesClient, faults: dict[str, Any]
) -> None:
    """A PATCH cut off by a reset is re-planned from a fresh read and applied once."""
    mine = make_image(cloud, "alice")
    rule = {"service": "images:DFW", "method": "PATCH", "path": f"/v2/images/{mine}"}
    assert httpx.post(**faults, json={**rule, "action": "reset", "times": 1}).status_code == 201
    updated = alice.update_image(mine, {"com.example.stage": "blue"})
    assert updated.properties == {"com.example.stage": "blue"}


# --- tasks, against a fake tasks service ------------------------------------------------
class FakeTasks:
    """``/v2/tasks`` in memory; ``drop_after_create`` / ``fail_before_create`` inject faults."""

    def __init__(self) -> None:
        self.tasks: dict[str, dict[str, Any]] = {}
        self.posts = 0
        self.drop_after_create = 0
        self.fail_before_create = 0
        self.progress: dict[str, list[tuple[str, str]]] = {}
        self.url = ""

    def create(self, body: dict[str, Any], tenant: str) -> dict[str, Any]:
        task_id = str(uuid.uuid4())
        doc = {"id": task_id, "type": body["type"], "status": "pending", "input": body["input"]}
        doc |= {"message": "None", "owner": tenant, "created_at": now_iso()}
        doc |= {"updated_at": doc["created_at"], "self": f"/v2/tasks/{task_id}"}
        self.tasks[task_id] = doc
        return doc

    def advance(self, task_id: str) -> dict[str, Any]:
        doc = self.tasks[task_id]
        steps = self.progress.get(task_id)
        if steps:
            doc["status"], doc["message"] = steps.pop(0)
        return doc

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if method == "POST":
            await self._post(scope, receive, send)
            return
        if path == "/v2/tasks":
            query = parse_qs(scope["query_string"].decode())
            docs = sorted(self.tasks.values(), key=lambda d: d["created_at"], reverse=True)
            assert query.get("sort_dir") == ["desc"]
            sparse = [{k: d[k] for k in ("id", "type", "status", "created_at")} for d in docs]
            await JSONResponse({"tasks": sparse})(scope, receive, send)
            return
        task_id = path.rsplit("/", 1)[-1]
        await JSONResponse(self.advance(task_id))(scope, receive, send)

    async def _post(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.posts += 1
        message = await receive()
        if self.fail_before_create:
            self.fail_before_create -= 1
            await JSONResponse({"message": "busy"}, 503)(scope, receive, send)
            return
        doc = self.create(json.loads(message.get("body", b"{}")), "123456")
        if self.drop_after_create:
            self.drop_after_create -= 1
            await asyncio.sleep(0)
            await reset_connection(receive, send)
            return
        await JSONResponse(doc, 201)(scope, receive, send)


@pytest.fixture
def fake_tasks() -> Iterator[FakeTasks]:
    app = FakeTasks()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    app.url = f"http://127.0.0.1:{sock.getsockname()[1]}/v2"
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="critical"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield app
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def tasks_client(cloud: LocalCloud, fake_tasks: FakeTasks) -> Iterator[ImagesClient]:
    yield from _client(cloud, "alice", endpoint=fake_tasks.url)


def test_import_task_body_follows_pyrax(tasks_client: ImagesClient) -> None:
    """The import body names container/object, the image name and format vhd (or none)."""
    task = tasks_client.create_import_task("incoming", "disks/web.vhd", name="web")
    assert task.status == "pending"
    assert task.input == {
        "import_from": "incoming/disks/web.vhd",
        "image_properties": {"name": "web"},
        "import_from_format": "vhd",
    }
    bare = tasks_client.create_import_task("c", "o.vhd", name="n", import_from_format=None)
    assert bare.input is not None
    assert "import_from_format" not in bare.input


def test_task_created_but_answer_lost_is_found_not_recreated(
    tasks_client: ImagesClient, fake_tasks: FakeTasks
) -> None:
    """A reset after the service created the task returns that task; no second POST."""
    fake_tasks.create({"type": "import", "input": {"import_from": "other/x.vhd"}}, "123456")
    fake_tasks.drop_after_create = 1
    task = tasks_client.create_export_task("0b5c3b5e-0000-4000-8000-000000000001", "exports")
    assert fake_tasks.posts == 1
    assert len(fake_tasks.tasks) == 2
    assert task.id in fake_tasks.tasks
    assert task.input == {
        "image_uuid": "0b5c3b5e-0000-4000-8000-000000000001",
        "receiving_swift_container": "exports",
    }


def test_task_not_created_is_created_on_retry(
    tasks_client: ImagesClient, fake_tasks: FakeTasks
) -> None:
    """A 503 before creation: the lookup finds nothing and the POST is tried again."""
    fake_tasks.fail_before_create = 1
    task = tasks_client.create_import_task("c", "o.vhd", name="n")
    assert fake_tasks.posts == 2
    assert list(fake_tasks.tasks) == [task.id]


def test_task_creation_gives_up_after_the_policy(
    tasks_client: ImagesClient, fake_tasks: FakeTasks
) -> None:
    """Persistent 503s end in ServiceUnavailable after the policy's attempts."""
    fake_tasks.fail_before_create = 5
    with pytest.raises(ServiceUnavailable):
        tasks_client.create_import_task("c", "o.vhd", name="n")
    assert fake_tasks.posts == 3
    assert fake_tasks.tasks == {}


def test_wait_for_task_returns_the_successful_task(
    tasks_client: ImagesClient, fake_tasks: FakeTasks
) -> None:
    """Polling sees pending, processing, then success with the new image id."""
    task = tasks_client.create_import_task("c", "o.vhd", name="n")
    fake_tasks.progress[task.id] = [("processing", "None"), ("success", "None")]
    fake_tasks.tasks[task.id]["result"] = {"image_id": "1d2f0c4e-aaaa-4bbb-8ccc-000000000001"}
    done = tasks_client.wait_for_task(task.id, timeout=5, poll_interval=0.01, backoff=2)
    assert done.status == "success"
    assert done.image_id == "1d2f0c4e-aaaa-4bbb-8ccc-000000000001"
    assert done.reason is None


def test_wait_for_task_raises_task_failed_with_the_rackspace_code(
    tasks_client: ImagesClient, fake_tasks: FakeTasks
) -> None:
    """A failure message with Error code: '396' becomes TaskFailed(code='396') explained."""
    task = tasks_client.create_import_task("c", "bad.vhd", name="n")
    message = "Image cannot be imported. Error code: '396'"
    fake_tasks.progress[task.id] = [("failure", message)]
    with pytest.raises(TaskFailed) as caught:
        tasks_client.wait_for_task(task.id, timeout=5, poll_interval=0.01)
    assert caught.value.task_id == task.id
    assert caught.value.code == "396"
    assert "'c/bad.vhd'" in str(caught.value)
    assert "not a valid VHD" in str(caught.value)


def test_wait_for_task_times_out_with_the_last_status(
    tasks_client: ImagesClient, fake_tasks: FakeTasks
) -> None:
    """A task still processing at the deadline raises TaskTimedOut naming its status."""
    task = tasks_client.create_import_task("c", "slow.vhd", name="n")
    fake_tasks.progress[task.id] = [("processing", "None")]
    with pytest.raises(TaskTimedOut) as caught:
        tasks_client.wait_for_task(task.id, timeout=0.1, poll_interval=0.02)
    assert caught.value.status == "processing"
    assert caught.value.task_id == task.id
