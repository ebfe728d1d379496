"""ImagesClient's task calls against the local cloud's real import/export engine.

The module runs its own local cloud (one region, four task workers): a ``stuck``
task outcome holds a worker until the cloud stops, and forced outcomes apply to
the next task of any test, so neither may leak into the shared session cloud.
Failures are the local cloud's own: ``/admin/faults`` rules for HTTP errors and
resets, ``/admin/faults/tasks`` for tasks that fail with a Rackspace code or never
finish. The one exception is a task the service created whose answer was lost:
fault rules act before the service runs, so a ``Scripted`` proxy forwards that
POST to the local cloud and then drops the connection (see
``tests.helpers.scripted_server``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cloudimages.client import ImagesClient, Task
from cloudimages.errors import NotFound, ServiceUnavailable, TaskFailed, TaskTimedOut
from cloudimages.localcloud import LocalCloud, LocalCloudSettings
from tests.helpers.clients import images_client, no_waiting  # noqa: F401 - autouse fixture
from tests.helpers.images import FAST_POLL, MIB, import_image, small_vhd, upload
from tests.helpers.scripted_server import Faults, Scripted, Step, root_of, serve

REGION = "DFW"


@pytest.fixture(scope="module")
def tasks_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    settings = LocalCloudSettings(
        data_dir=tmp_path_factory.mktemp("clienttasks"),
        regions=(REGION,),
        task_workers=4,
        export_segment_size=MIB,
    )
    with LocalCloud(settings) as running:
        yield running


@pytest.fixture
def alice(tasks_cloud: LocalCloud) -> Iterator[ImagesClient]:
    with images_client(tasks_cloud, "alice") as client:
        yield client


@pytest.fixture
def bob(tasks_cloud: LocalCloud) -> Iterator[ImagesClient]:
    with images_client(tasks_cloud, "bob") as client:
        yield client


@pytest.fixture
def faults(tasks_cloud: LocalCloud) -> Iterator[Faults]:
    """The local cloud's fault injection; every rule and outcome is cleared after the test."""
    injected = Faults.of(tasks_cloud.identity_url)
    yield injected
    injected.clear()


@pytest.fixture(scope="module")
def vhd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_vhd(tmp_path_factory.mktemp("vhds"), "task-source.vhd")


@pytest.fixture(scope="module")
def uploaded(tasks_cloud: LocalCloud, vhd: Path) -> tuple[str, str]:
    """(container, object) of a 1 MiB VHD in alice's Cloud Files, uploaded once."""
    with images_client(tasks_cloud, "alice") as client:
        upload(client, "incoming", "disks/web.vhd", vhd)
    return "incoming", "disks/web.vhd"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def tasks_with_input(client: ImagesClient, task_input: dict[str, Any]) -> list[Task]:
    """Every task of the account whose input is exactly ``task_input``."""
    full = [client.get_task(listed.id) for listed in client.list_tasks()]
    return [task for task in full if task.input == task_input]


def import_input(container: str, obj: str, name: str) -> dict[str, Any]:
    return {
        "import_from": f"{container}/{obj}",
        "image_properties": {"name": name},
        "import_from_format": "vhd",
    }


# --- creating and waiting ---------------------------------------------------------------
def test_import_task_runs_to_an_active_image(
    alice: ImagesClient, uploaded: tuple[str, str]
) -> None:
    """The body follows pyrax; the task is pending, then succeeds with the new image."""
    name = unique("web")
    task = alice.create_import_task(*uploaded, name=name)
    assert task.status == "pending"
    assert task.type == "import"
    assert task.owner == alice.session.tenant_id
    assert task.input == import_input(*uploaded, name)
    done = alice.wait_for_task(task.id, timeout=60, poll_interval=FAST_POLL, backoff=2)
    assert (done.id, done.status, done.reason, done.error_code) == (task.id, "success", None, None)
    assert done.image_id is not None
    image = alice.get_image(done.image_id)
    assert (image.name, image.status, image.owner) == (name, "active", alice.session.tenant_id)
    assert (image.disk_format, image.container_format) == ("vhd", "ovf")
    assert alice.get_task(task.id).model_dump() == done.model_dump()


def test_import_format_can_be_left_out(alice: ImagesClient, uploaded: tuple[str, str]) -> None:
    """import_from_format=None omits the key; the service assumes a VHD."""
    task = alice.create_import_task(*uploaded, name="bare", import_from_format=None)
    assert task.input is not None
    assert "import_from_format" not in task.input
    done = alice.wait_for_task(task.id, timeout=60, poll_interval=FAST_POLL)
    assert done.status == "success"


def test_export_task_writes_the_image_as_a_vhd_into_a_container(
    alice: ImagesClient, vhd: Path
) -> None:
    """An owned image is exported to ``<container>/<image id>.vhd``, readable in Cloud Files."""
    image = import_image(alice, vhd, unique("to-export"))
    container = unique("exports")
    files = alice.session.endpoint("object-store", REGION)
    alice.session.request("PUT", f"{files}/{container}")
    task = alice.create_export_task(image.id, container)
    assert task.input == {"image_uuid": image.id, "receiving_swift_container": container}
    done = alice.wait_for_task(task.id, timeout=60, poll_interval=FAST_POLL)
    assert done.export_location == f"{container}/{image.id}.vhd"
    exported = alice.session.request("GET", f"{files}/{done.export_location}")
    assert exported.content[-512:].startswith(b"conectix")  # the VHD footer's cookie


def test_export_of_an_image_of_another_account_fails_with_a_reason(
    alice: ImagesClient, bob: ImagesClient, vhd: Path
) -> None:
    """Input problems are not HTTP errors: the task is created, then fails, explained."""
    image = import_image(alice, vhd, unique("not-bobs"))
    task = bob.create_export_task(image.id, "exports")
    with pytest.raises(TaskFailed) as caught:
        bob.wait_for_task(task.id, timeout=60, poll_interval=FAST_POLL)
    assert caught.value.task_id == task.id
    assert f"exporting image {image.id} to container 'exports'" in str(caught.value)
    assert bob.get_task(task.id).reason is not None


def test_tasks_are_listed_sparse_paged_and_sorted(
    alice: ImagesClient, uploaded: tuple[str, str]
) -> None:
    """list_tasks follows pages, sends the sort, and lists entries without input."""
    made = {alice.create_import_task(*uploaded, name=unique("listed")).id for _ in range(3)}
    newest_first = list(alice.list_tasks(sort_key="created_at", sort_dir="desc", page_size=2))
    ids = [t.id for t in newest_first]
    assert made <= set(ids)
    assert len(ids) == len(set(ids))
    assert all(t.input is None and t.result is None for t in newest_first)
    oldest_first = [t.id for t in alice.list_tasks(sort_key="created_at", sort_dir="asc")]
    assert oldest_first == ids[::-1]
    for task_id in made:
        alice.wait_for_task(task_id, timeout=60, poll_interval=FAST_POLL)


def test_tasks_are_private_to_their_owner(
    alice: ImagesClient, bob: ImagesClient, uploaded: tuple[str, str]
) -> None:
    """Another account's task, and an unknown id, are NotFound; it is not in their list."""
    task = alice.create_import_task(*uploaded, name=unique("private"))
    with pytest.raises(NotFound):
        bob.get_task(task.id)
    assert task.id not in {t.id for t in bob.list_tasks()}
    with pytest.raises(NotFound, match="failed with 404"):
        alice.get_task(str(uuid.uuid4()))
    alice.wait_for_task(task.id, timeout=60, poll_interval=FAST_POLL)


def test_wait_for_task_raises_task_failed_with_the_rackspace_code(
    alice: ImagesClient, uploaded: tuple[str, str], faults: Faults
) -> None:
    """A forced failure with code 396 becomes TaskFailed(code='396'), explained."""
    forced = faults.add_task_outcome(task_type="import", outcome="failure", code="396", times=1)
    task = alice.create_import_task(*uploaded, name=unique("bad"))
    with pytest.raises(TaskFailed) as caught:
        alice.wait_for_task(task.id, timeout=60, poll_interval=FAST_POLL)
    assert faults.fired(forced) == 1
    assert caught.value.task_id == task.id
    assert caught.value.code == "396"
    assert f"importing '{uploaded[0]}/{uploaded[1]}'" in str(caught.value)
    assert "Error code: '396'" in str(caught.value)
    assert "not a valid VHD" in str(caught.value)
    failed = alice.get_task(task.id)
    assert (failed.status, failed.error_code, failed.image_id) == ("failure", "396", None)


def test_wait_for_task_times_out_with_the_last_status(
    alice: ImagesClient, uploaded: tuple[str, str], faults: Faults
) -> None:
    """A task still processing at the deadline raises TaskTimedOut naming its status."""
    faults.add_task_outcome(task_type="import", outcome="stuck", times=1)
    task = alice.create_import_task(*uploaded, name=unique("slow"))
    with pytest.raises(TaskTimedOut) as caught:
        alice.wait_for_task(task.id, timeout=0.5, poll_interval=0.05)
    assert caught.value.status == "processing"
    assert caught.value.task_id == task.id
    assert "still processing after 0.5 s" in str(caught.value)
    assert alice.get_task(task.id).status == "processing"


# --- creating a task is never blindly retried ------------------------------------------
def _assert_created_once_through(
    rule: str, alice: ImagesClient, uploaded: tuple[str, str], faults: Faults, name: str
) -> None:
    """An import task created through the fault ``rule``: it fired once, one task exists."""
    task = alice.create_import_task(*uploaded, name=name)
    assert faults.fired(rule) == 1
    assert [t.id for t in tasks_with_input(alice, import_input(*uploaded, name))] == [task.id]
    alice.wait_for_task(task.id, timeout=60, poll_interval=FAST_POLL)


def test_task_not_created_is_created_on_retry(
    alice: ImagesClient, uploaded: tuple[str, str], faults: Faults
) -> None:
    """A 503 before creation: the lookup finds nothing and the POST is tried again, once."""
    rule = faults.add(
        service=f"images:{REGION}", method="POST", path="/v2/tasks", status=503, times=1
    )
    _assert_created_once_through(rule, alice, uploaded, faults, unique("retried"))


def test_task_reset_before_creation_is_created_once(
    alice: ImagesClient, uploaded: tuple[str, str], faults: Faults
) -> None:
    """A reset that may have reached the service: looked up first, then created once."""
    rule = faults.add(
        service=f"images:{REGION}", method="POST", path="/v2/tasks", action="reset", times=1
    )
    _assert_created_once_through(rule, alice, uploaded, faults, unique("reset"))


def test_task_creation_gives_up_after_the_policy(
    alice: ImagesClient, uploaded: tuple[str, str], faults: Faults
) -> None:
    """Persistent 503s end in ServiceUnavailable after the policy's attempts; no task."""
    rule = faults.add(
        service=f"images:{REGION}", method="POST", path="/v2/tasks", status=503, times=5
    )
    name = unique("never")
    with pytest.raises(ServiceUnavailable):
        alice.create_import_task(*uploaded, name=name)
    assert faults.fired(rule) == 3
    assert tasks_with_input(alice, import_input(*uploaded, name)) == []


@pytest.fixture(scope="module")
def proxy() -> Iterator[Scripted]:
    with serve() as running:
        yield running


def test_task_created_but_answer_lost_is_found_not_recreated(
    tasks_cloud: LocalCloud, alice: ImagesClient, uploaded: tuple[str, str], proxy: Scripted
) -> None:
    """The service creates the task, the connection drops: that task is returned, no 2nd POST.

    The local cloud's fault rules act before the service runs, so they cannot lose
    an answer after the fact; a scripted proxy in front of the real Cloud Images
    forwards the POST and then resets the connection instead of answering.
    """
    upstream = root_of(alice.base_url)
    proxy.reset()
    proxy.default = Step(forward=upstream)
    proxy.script("POST", "/v2/tasks", Step(forward=upstream, reset=True))
    # A task of the same type and location but another name: recovery must compare inputs.
    decoy = alice.create_import_task(*uploaded, name=unique("decoy"))
    alice.wait_for_task(decoy.id, timeout=60, poll_interval=FAST_POLL)
    name = unique("lost")
    with images_client(tasks_cloud, "alice", endpoint=f"{proxy.url}/v2") as through_proxy:
        task = through_proxy.create_import_task(*uploaded, name=name)
    assert proxy.count("POST", "/v2/tasks") == 1
    assert proxy.count("GET", "/v2/tasks") >= 1  # the lookup went through the proxy too
    created = tasks_with_input(alice, import_input(*uploaded, name))
    assert [t.id for t in created] == [task.id]
    assert task.id != decoy.id
    assert task.input == import_input(*uploaded, name)
    done = alice.wait_for_task(task.id, timeout=60, poll_interval=FAST_POLL)
    assert done.status == "success"
