"""Import and export tasks of the local Cloud Images, driven over HTTP like a client would."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from cloudimages import diskimage
from cloudimages.localcloud import LocalCloud, LocalCloudSettings
from cloudimages.localcloud.accounts import Accounts
from cloudimages.localcloud.db import Database
from cloudimages.localcloud.faults import FaultInjector
from cloudimages.localcloud.faults import TaskOutcome as FaultTaskOutcome
from cloudimages.localcloud.images.store import ImageStore
from cloudimages.localcloud.imagetasks import TaskEngine
from cloudimages.localcloud.objects.blobs import BlobStore
from cloudimages.localcloud.objects.store import ObjectStore
from cloudimages.localcloud.settings import DEFAULT_ACCOUNTS
from tests.helpers import diskimages
from tests.helpers.identity import Session, login

MIB = 1024 * 1024
REGION = "DFW"
NOT_FOUND = "Error: Image not found for import. Possible invalid location"


@dataclass
class Client:
    """One account's view of the local cloud: its tasks, images and Cloud Files."""

    session: Session

    @property
    def images_url(self) -> str:
        return self.session.endpoint("image", REGION)

    @property
    def files_url(self) -> str:
        return self.session.endpoint("object-store", REGION)

    def post_task(self, body: Any, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("json", body)
        return httpx.post(f"{self.images_url}/tasks", headers=self.session.headers, **kwargs)

    def create(self, task_type: str, task_input: dict[str, Any]) -> dict[str, Any]:
        response = self.post_task({"type": task_type, "input": task_input})
        assert response.status_code == 201, response.text
        return dict(response.json())

    def get(self, task_id: str) -> httpx.Response:
        return httpx.get(f"{self.images_url}/tasks/{task_id}", headers=self.session.headers)

    def listing(self, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.images_url}/tasks", headers=self.session.headers, params=params)

    def wait(self, task_id: str, *, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            task = self.get(task_id).json()
            if task["status"] in ("success", "failure"):
                return dict(task)
            time.sleep(0.05)
        pytest.fail(f"task {task_id} did not finish within {timeout} s")

    def run(self, task_type: str, task_input: dict[str, Any]) -> dict[str, Any]:
        return self.wait(self.create(task_type, task_input)["id"])

    def image(self, image_id: str) -> httpx.Response:
        return httpx.get(f"{self.images_url}/images/{image_id}", headers=self.session.headers)

    def own_images(self) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"owner": self.session.tenant_id, "limit": 1000}
        got = httpx.get(f"{self.images_url}/images", headers=self.session.headers, params=params)
        return list(got.json()["images"])

    def put(self, path: str, data: bytes = b"", headers: dict[str, str] | None = None) -> None:
        url = f"{self.files_url}/{path}"
        response = httpx.put(url, headers={**self.session.headers, **(headers or {})}, content=data)
        assert response.status_code in (201, 202), response.text

    def fetch(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.files_url}/{path}", headers=self.session.headers, timeout=60)

    def names(self, container: str) -> list[str]:
        got = httpx.get(f"{self.files_url}/{container}", headers=self.session.headers)
        return got.text.split()

    def upload(self, container: str, name: str, source: Path, kind: str = "plain") -> str:
        """Put ``source`` as a plain object, an SLO or a DLO; returns its md5."""
        self.put(container)
        data = source.read_bytes()
        if kind == "plain":
            self.put(f"{container}/{name}", data)
        else:
            self.put(f"{container}_segments")
            parts = [data[i : i + MIB] for i in range(0, len(data), MIB)]
            for index, part in enumerate(parts):
                self.put(f"{container}_segments/{name}/{index:04d}", part)
            if kind == "slo":
                manifest = [
                    {"path": f"{container}_segments/{name}/{i:04d}"} for i in range(len(parts))
                ]
                self.put(
                    f"{container}/{name}?multipart-manifest=put", json.dumps(manifest).encode()
                )
            else:
                manifest_header = {"X-Object-Manifest": f"{container}_segments/{name}/"}
                self.put(f"{container}/{name}", b"", manifest_header)
        return hashlib.md5(data).hexdigest()


@dataclass
class Running:
    cloud: LocalCloud
    alice: Client
    bob: Client

    @property
    def data_dir(self) -> Path:
        return Path(self.cloud.settings.data_dir)


@contextmanager
def task_cloud(data_dir: Path, **overrides: Any) -> Iterator[Running]:
    fields: dict[str, Any] = {
        "data_dir": data_dir,
        "regions": (REGION,),
        "task_workers": 2,
        "export_segment_size": MIB,
    }
    settings = LocalCloudSettings(**{**fields, **overrides})
    with LocalCloud(settings) as cloud:
        identity = cloud.identity_url
        yield Running(
            cloud,
            Client(login(identity, "alice", "alice-api-key")),
            Client(login(identity, "bob", "bob-api-key")),
        )


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with task_cloud(tmp_path_factory.mktemp("tasks")) as cloud:
        yield cloud


@pytest.fixture(scope="module")
def disks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("disks")


@pytest.fixture
def alice(running: Running) -> Client:
    return running.alice


@pytest.fixture
def bob(running: Running) -> Client:
    return running.bob


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def imported(client: Client, source: Path, kind: str = "plain") -> tuple[dict[str, Any], str]:
    """Upload ``source`` and import it; (finished task, md5 of the upload)."""
    container = unique("incoming")
    md5 = client.upload(container, "disk.vhd", source, kind)
    task = client.run(
        "import", {"import_from": f"{container}/disk.vhd", "image_properties": {"name": "mine"}}
    )
    return task, md5


def assert_no_leftovers(running: Running) -> None:
    """No task temp file and no staged blob (image or object) survive a finished task."""
    assert not list((running.data_dir / "tasks").glob("*/*"))
    assert not list(running.data_dir.glob("imagestore/*/tmp/*"))
    assert not list(running.data_dir.glob("blobs/*/tmp/*"))


# creating ------------------------------------------------------------------------
def test_create_answers_201_with_a_pending_task_and_its_location(alice: Client) -> None:
    """POST /v2/tasks stores the task as pending, echoes the input and says where it lives."""
    task_input = {"import_from": "nowhere/disk.vhd", "image_properties": {"name": "x"}}
    response = alice.post_task({"type": "import", "input": task_input})
    assert response.status_code == 201
    task = response.json()
    assert response.headers["location"] == f"/v2/tasks/{task['id']}"
    assert task["status"] == "pending"
    assert task["input"] == task_input
    assert task["message"] == "None"
    assert task["owner"] == alice.session.tenant_id
    assert task["self"] == f"/v2/tasks/{task['id']}"
    assert task["schema"] == "/v2/schemas/task"
    assert task["created_at"] == task["updated_at"]
    assert task["created_at"].endswith("Z")
    assert "result" not in task
    assert "expires_at" not in task


@pytest.mark.parametrize("kind", ["fixed", "dynamic"])
def test_import_of_a_vhd_makes_a_private_active_image(
    running: Running, alice: Client, disks: Path, kind: diskimages.Subformat
) -> None:
    """A fixed or dynamic VHD becomes an active private VHD/OVF image named as asked."""
    task, md5 = imported(alice, diskimages.make_vhd(disks, kind, f"import-{kind}.vhd"))
    assert task["status"] == "success", task["message"]
    assert task["message"] == "None"
    response = alice.image(task["result"]["image_id"])
    assert response.status_code == 200
    image = response.json()
    assert image["status"] == "active"
    assert image["visibility"] == "private"
    assert image["owner"] == alice.session.tenant_id
    assert image["name"] == "mine"
    assert (image["disk_format"], image["container_format"]) == ("vhd", "ovf")
    assert image["virtual_size"] == diskimages.DEFAULT_SIZE
    assert image["checksum"] != md5
    assert image["protected"] is False
    assert image["tags"] == []
    assert_no_leftovers(running)


def test_imported_image_checksum_and_size_describe_its_stored_bytes(
    running: Running, alice: Client, disks: Path
) -> None:
    """checksum/size are the md5/length of the re-packed VHD kept in the image store."""
    source = diskimages.make_vhd(disks, "dynamic", "stored-form.vhd")
    task, md5 = imported(alice, source)
    assert task["status"] == "success", task["message"]
    image = alice.image(task["result"]["image_id"]).json()
    services = running.cloud.services
    assert services is not None
    record = services.image_stores[REGION].get_image(image["id"])
    assert record is not None
    assert record.blob is not None
    stored = services.image_blobs[REGION].path(record.blob)
    assert hashlib.md5(stored.read_bytes()).hexdigest() == image["checksum"] != md5
    assert stored.stat().st_size == image["size"]
    assert diskimage.compare(stored, source, fmt_a="vpc", fmt_b="vpc")


@pytest.mark.parametrize("kind", ["plain", "slo", "dlo"])
def test_import_reads_plain_objects_and_large_objects(
    alice: Client, disks: Path, kind: str
) -> None:
    """import_from may name a plain object, an SLO manifest or a DLO manifest."""
    source = diskimages.make_vhd(disks, "dynamic", f"source-{kind}.vhd")
    task, _ = imported(alice, source, kind)
    assert task["status"] == "success", task["message"]
    image = alice.image(task["result"]["image_id"]).json()
    assert image["virtual_size"] == diskimages.DEFAULT_SIZE


def test_import_from_an_object_name_with_slashes(alice: Client, disks: Path) -> None:
    """The first path segment is the container; the rest, slashes included, is the object."""
    container = unique("nested")
    alice.upload(container, "a/b/disk.vhd", diskimages.make_vhd(disks, "fixed", "nested.vhd"))
    task = alice.run(
        "import", {"import_from": f"{container}/a/b/disk.vhd", "image_properties": {"name": "n"}}
    )
    assert task["status"] == "success", task["message"]


def _variant(**kwargs: Any) -> Any:
    def make(directory: Path) -> Path:
        return diskimages.make_vhd_variant(directory, name=f"{uuid.uuid4().hex}.vhd", **kwargs)

    return make


def _truncated_vhd(directory: Path) -> Path:
    path = diskimages.make_vhd(directory, "dynamic", f"cut-{uuid.uuid4().hex}.vhd")
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size - 4096)
    return path


def _bad_type(directory: Path) -> Path:
    path = diskimages.make_vhd(directory, "dynamic", f"type5-{uuid.uuid4().hex}.vhd")
    diskimages.patch_vhd_footer(path, disk_type=5)
    return path


BAD_SOURCES = {
    "qcow2": (lambda d: diskimages.make_qcow2(d, f"{uuid.uuid4().hex}.qcow2"), "396"),
    "raw": (lambda d: diskimages.make_raw(d, f"{uuid.uuid4().hex}.raw"), "396"),
    "not-an-image": (lambda d: diskimages.make_not_an_image(d, f"{uuid.uuid4().hex}.txt"), "396"),
    "truncated-qcow2": (lambda d: diskimages.make_truncated(d, f"{uuid.uuid4().hex}.q"), "396"),
    "truncated-vhd": (_truncated_vhd, "396"),
    "backing-qcow2": (lambda d: diskimages.make_qcow2_with_backing(d, "overlay.qcow2"), "396"),
    "differencing": (_variant(disk_type="differencing"), "721"),
    "zero-uuid": (_variant(unique_id=uuid.UUID(int=0)), "614"),
    "unknown-type": (_bad_type, "523"),
    "bad-checksum": (_variant(unique_id=uuid.uuid4(), fix_checksum=False), "111"),
}


@pytest.mark.parametrize("case", sorted(BAD_SOURCES))
def test_import_of_an_unusable_file_fails_with_rackspace_codes(
    running: Running, alice: Client, tmp_path: Path, case: str
) -> None:
    """Each way a file is not an importable VHD ends the task with its documented code."""
    make, code = BAD_SOURCES[case]
    before = {i["id"] for i in alice.own_images()}
    task, _ = imported(alice, make(tmp_path))
    assert task["status"] == "failure"
    assert task["message"].startswith(f"Image cannot be imported. Error code: '{code}'")
    assert "result" not in task
    assert {i["id"] for i in alice.own_images()} == before
    assert_no_leftovers(running)


@pytest.mark.parametrize("location", ["missing-container/disk.vhd", "{container}/absent.vhd"])
def test_import_of_a_missing_object_fails_with_the_not_found_message(
    alice: Client, location: str
) -> None:
    """A container or object that does not exist is Rackspace's 'invalid location' failure."""
    container = unique("present")
    alice.put(container)
    task = alice.run(
        "import",
        {"import_from": location.format(container=container), "image_properties": {"name": "x"}},
    )
    assert task["status"] == "failure"
    assert task["message"].startswith(NOT_FOUND)


def test_import_cannot_read_another_accounts_object(
    alice: Client, bob: Client, disks: Path
) -> None:
    """import_from names a container of the caller's own Cloud Files, nobody else's."""
    container = unique("bobs")
    bob.upload(container, "disk.vhd", diskimages.make_vhd(disks, "fixed", "bobs.vhd"))
    task = alice.run(
        "import", {"import_from": f"{container}/disk.vhd", "image_properties": {"name": "x"}}
    )
    assert task["status"] == "failure"
    assert task["message"].startswith(NOT_FOUND)


@pytest.mark.parametrize(
    "task_input",
    [
        {"import_from": "c/o.vhd", "image_properties": {"name": "x", "min_ram": 512}},
        {"import_from": "c/o.vhd", "image_properties": {"name": 7}},
        {"import_from": "c/o.vhd", "image_properties": "x"},
        {"import_from": "c/o.vhd"},
        {"import_from": "c/o.vhd", "image_properties": {"name": "x"}, "import_from_format": "raw"},
        {"image_properties": {"name": "x"}},
        {"import_from": "/c/o.vhd", "image_properties": {"name": "x"}},
        {"import_from": "https://example.com/c/o.vhd", "image_properties": {"name": "x"}},
    ],
)
def test_unusable_import_input_is_a_task_failure_not_an_http_error(
    alice: Client, task_input: dict[str, Any]
) -> None:
    """Bad input is accepted (201) and the task fails straight from pending."""
    task = alice.run("import", task_input)
    assert task["status"] == "failure"
    assert task["message"] != "None"
    assert task["input"] == task_input


def test_size_limits_fail_with_413_and_609(tmp_path: Path, disks: Path) -> None:
    """Over the limit, a large virtual size is 413 and a large file is 609."""
    with task_cloud(tmp_path / "cloud", import_size_limit=16 * MIB) as running:
        alice = running.alice
        sparse = diskimages.make_vhd(disks, "dynamic", "big-virtual.vhd", size=64 * MIB)
        task, _ = imported(alice, sparse)
        assert task["status"] == "failure"
        assert task["message"].startswith("Image cannot be imported. Error code: '413'")
        full = diskimages.make_vhd(disks, "fixed", "big-file.vhd", size=32 * MIB)
        task, _ = imported(alice, full)
        assert task["status"] == "failure"
        assert task["message"].startswith("Image cannot be imported. Error code: '609'")
        assert alice.own_images() == []


# exporting -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def alices_image(running: Running, disks: Path) -> tuple[str, Path]:
    """An image alice imported, and the VHD it came from."""
    source = diskimages.make_vhd(disks, "dynamic", "to-export.vhd")
    task, _ = imported(running.alice, source)
    assert task["status"] == "success", task["message"]
    return task["result"]["image_id"], source


def test_export_writes_a_dlo_with_the_same_disk_but_new_bytes(
    running: Running, alice: Client, alices_image: tuple[str, Path], tmp_path: Path
) -> None:
    """Export gives <uuid>.vhd (a DLO over 1 MiB segments) holding the imported disk."""
    image_id, source = alices_image
    container = unique("exports")
    alice.put(container)
    task = alice.run("export", {"image_uuid": image_id, "receiving_swift_container": container})
    assert task["status"] == "success", task["message"]
    assert task["result"] == {"export_location": f"{container}/{image_id}.vhd"}
    names = alice.names(container)
    segments = [n for n in names if n.startswith(f"{image_id}.vhd-")]
    assert names == [f"{image_id}.vhd", *segments]
    assert segments == [f"{image_id}.vhd-{i:05d}" for i in range(1, len(segments) + 1)]
    sizes = [len(alice.fetch(f"{container}/{name}").content) for name in segments]
    assert len(sizes) > 1
    assert all(size == MIB for size in sizes[:-1])
    assert 0 < sizes[-1] <= MIB
    manifest = alice.fetch(f"{container}/{image_id}.vhd")
    assert manifest.status_code == 200
    assert manifest.headers["x-object-manifest"] == f"{container}/{image_id}.vhd-"
    assert len(manifest.content) == sum(sizes)
    downloaded = tmp_path / "exported.vhd"
    downloaded.write_bytes(manifest.content)
    image = alice.image(image_id).json()
    assert hashlib.md5(manifest.content).hexdigest() not in (image["checksum"], _md5(source))
    assert diskimage.compare(downloaded, source, fmt_a="vpc", fmt_b="vpc")
    assert_no_leftovers(running)


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _public_image(client: Client) -> str:
    got = httpx.get(
        f"{client.images_url}/images",
        headers=client.session.headers,
        params={"visibility": "public"},
    )
    return str(got.json()["images"][0]["id"])


@pytest.mark.parametrize(
    "case", ["missing-container", "dot-in-name", "target-exists", "public-image", "unknown-image"]
)
def test_export_problems_are_task_failures(
    alice: Client, alices_image: tuple[str, Path], case: str
) -> None:
    """Export refuses bad targets and images not owned by the caller, as failed tasks."""
    image_id, _ = alices_image
    container = unique("exp")
    if case != "missing-container":
        alice.put(container)
    if case == "dot-in-name":
        container = f"{container}.d"
        alice.put(container)
    if case == "target-exists":
        alice.put(f"{container}/{image_id}.vhd", b"already here")
    if case == "public-image":
        image_id = _public_image(alice)
    if case == "unknown-image":
        image_id = str(uuid.uuid4())
    response = alice.post_task(
        {
            "type": "export",
            "input": {"image_uuid": image_id, "receiving_swift_container": container},
        }
    )
    assert response.status_code == 201
    task = alice.wait(response.json()["id"])
    assert task["status"] == "failure"
    assert task["message"] != "None"
    if case == "target-exists":
        assert task["message"] == (
            f"Swift already has an object with id '{image_id}.vhd' in container '{container}'"
        )
        assert alice.fetch(f"{container}/{image_id}.vhd").content == b"already here"
    if case != "missing-container":
        assert not [n for n in alice.names(container) if n.startswith(f"{image_id}.vhd-")]


def _assert_export_fails(client: Client, image_id: str, container: str, reason: str) -> None:
    """An export into a new ``container`` ends in failure naming ``reason``, writing nothing."""
    client.put(container)
    task = client.run("export", {"image_uuid": image_id, "receiving_swift_container": container})
    assert task["status"] == "failure"
    assert reason in task["message"]
    assert client.names(container) == []


def test_export_of_someone_elses_image_fails_even_when_shared(
    alice: Client, bob: Client, alices_image: tuple[str, Path]
) -> None:
    """Bob may see a shared image but not export it: only owners export."""
    image_id, _ = alices_image
    share = httpx.post(
        f"{alice.images_url}/images/{image_id}/members",
        headers=alice.session.headers,
        json={"member": bob.session.tenant_id},
    )
    assert share.status_code == 200, share.text
    assert bob.image(image_id).status_code == 200
    _assert_export_fails(bob, image_id, unique("bobexp"), "not owned")


def test_export_of_a_license_restricted_image_fails(
    running: Running, alice: Client, disks: Path
) -> None:
    """An image whose com.rackspace__1__options is not "0" (set by Rackspace) cannot be exported."""
    task, _ = imported(alice, diskimages.make_vhd(disks, "fixed", "licensed.vhd"))
    image_id = task["result"]["image_id"]
    services = running.cloud.services
    assert services is not None
    record = services.image_stores[REGION].get_image(image_id)
    assert record is not None
    record.doc["com.rackspace__1__options"] = "1"
    services.image_stores[REGION].put_image(record)
    _assert_export_fails(alice, image_id, unique("lic"), "license")


# lifecycle ---------------------------------------------------------------------------
def _observe(client: Client, task_id: str, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Every distinct state a task shows until it finishes."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = client.get(task_id).json()
        if not seen or seen[-1]["status"] != task["status"]:
            seen.append(task)
        if task["status"] in ("success", "failure"):
            return seen
        time.sleep(0.02)
    pytest.fail(f"task {task_id} did not finish; saw {[t['status'] for t in seen]}")


def test_a_task_goes_pending_processing_success(tmp_path: Path, disks: Path) -> None:
    """With delays set, a client sees pending, then processing (image saving), then success."""
    settings = {"task_pending_delay": 0.5, "task_processing_delay": 1.5}
    with task_cloud(tmp_path, **settings) as running:
        alice = running.alice
        container = unique("life")
        alice.upload(container, "disk.vhd", diskimages.make_vhd(disks, "fixed", "life.vhd"))
        task_input = {"import_from": f"{container}/disk.vhd", "image_properties": {"name": "l"}}
        created = alice.create("import", task_input)
        seen = _observe(alice, created["id"])
        assert [t["status"] for t in seen] == ["pending", "processing", "success"]
        assert seen[0]["updated_at"] <= seen[1]["updated_at"] <= seen[2]["updated_at"]
        assert "expires_at" not in seen[1]
        assert [i["status"] for i in alice.own_images()] == ["active"]


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def test_finished_tasks_expire_after_the_ttl(tmp_path: Path) -> None:
    """expires_at is updated_at + ttl; after it the task is gone from GET and the list."""
    with task_cloud(tmp_path, task_ttl=2) as running:
        alice = running.alice
        task = alice.run("import", {"import_from": "no/such.vhd", "image_properties": {}})
        assert task["status"] == "failure"
        assert _parse(task["expires_at"]) - _parse(task["updated_at"]) == timedelta(seconds=2)
        listed = alice.listing().json()["tasks"]
        assert [t["expires_at"] for t in listed] == [task["expires_at"]]
        deadline = time.monotonic() + 10
        while alice.get(task["id"]).status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert alice.get(task["id"]).status_code == 404
        assert alice.listing().json()["tasks"] == []


def _wait_for(predicate: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_restart_during_an_import_finishes_it_without_leftovers(
    tmp_path: Path, disks: Path
) -> None:
    """An import cut off by a stop is undone and run again at the next start."""
    source = diskimages.make_vhd(disks, "dynamic", "restart-import.vhd")
    with task_cloud(tmp_path, task_processing_delay=120) as running:
        alice = running.alice
        container = unique("restart")
        alice.upload(container, "disk.vhd", source)
        task_input = {"import_from": f"{container}/disk.vhd", "image_properties": {"name": "r"}}
        task_id = alice.create("import", task_input)["id"]
        _wait_for(lambda: [i["status"] for i in alice.own_images()] == ["saving"], "saving")
        assert alice.get(task_id).json()["status"] == "processing"
    with task_cloud(tmp_path) as running:
        task = running.alice.wait(task_id)
        assert task["status"] == "success", task["message"]
        assert set(task) == set(running.alice.get(task_id).json())
        assert not any(key.startswith("_") for key in task)
        images = running.alice.own_images()
        assert [(i["id"], i["status"]) for i in images] == [(task["result"]["image_id"], "active")]
        blobs = [p for p in (tmp_path / "imagestore").glob("*/*/*") if p.parent.name != "tmp"]
        assert len(blobs) == 1
        assert_no_leftovers(running)


def test_a_restart_during_an_export_writes_each_segment_once(tmp_path: Path, disks: Path) -> None:
    """An export cut off after writing segments is undone and re-run from scratch."""
    with task_cloud(tmp_path) as running:
        task, _ = imported(running.alice, diskimages.make_vhd(disks, "dynamic", "restart-ex.vhd"))
        image_id = task["result"]["image_id"]
        running.alice.put("exports")
    with task_cloud(tmp_path, task_processing_delay=120) as running:
        task_input = {"image_uuid": image_id, "receiving_swift_container": "exports"}
        task_id = running.alice.create("export", task_input)["id"]
        _wait_for(lambda: len(running.alice.names("exports")) > 1, "segments")
        assert f"{image_id}.vhd" not in running.alice.names("exports")
    with task_cloud(tmp_path) as running:
        task = running.alice.wait(task_id)
        assert task["status"] == "success", task["message"]
        names = running.alice.names("exports")
        assert names[0] == f"{image_id}.vhd"
        assert names[1:] == [f"{image_id}.vhd-{i:05d}" for i in range(1, len(names))]
        whole = running.alice.fetch(f"exports/{image_id}.vhd").content
        parts = b"".join(running.alice.fetch(f"exports/{n}").content for n in names[1:])
        assert whole == parts


# forced outcomes (the engine alone, with a fake faults object) ----------------------------
@dataclass
class Forced:
    outcome: str
    code: str | None = None
    message: str | None = None


class FakeFaults:
    """Hands out the queued outcomes in order, then None; records who asked."""

    def __init__(self, *outcomes: Forced | None) -> None:
        self.outcomes = list(outcomes)
        self.asked: list[str] = []

    def next_task_outcome(self, task_type: str) -> Forced | None:
        self.asked.append(task_type)
        return self.outcomes.pop(0) if self.outcomes else None


@dataclass
class Bench:
    """An engine over a database in a temp dir, without HTTP."""

    settings: LocalCloudSettings
    db: Database
    images: ImageStore
    objects: ObjectStore
    blobs: BlobStore
    accounts: Accounts
    tenant: str

    def engine(self, faults: FakeFaults | None = None) -> TaskEngine:
        engine = TaskEngine(
            self.settings, self.images, self.objects, self.blobs, self.accounts, faults=faults
        )
        engine.start()
        return engine

    def submit(self, engine: TaskEngine, task_type: str, task_input: dict[str, Any]) -> str:
        task_id = str(uuid.uuid4())
        doc = {"id": task_id, "type": task_type, "status": "pending", "input": task_input}
        doc.update(message="None", owner=self.tenant, created_at="x", updated_at="x")
        self.images.put_task(doc)
        engine.submit(task_id)
        return task_id

    def status(self, task_id: str) -> dict[str, Any]:
        doc = self.images.get_task(task_id)
        assert doc is not None
        return doc

    def wait(self, task_id: str) -> dict[str, Any]:
        _wait_for(lambda: self.status(task_id)["status"] in ("success", "failure"), task_id)
        return self.status(task_id)


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    settings = LocalCloudSettings(data_dir=tmp_path, regions=(REGION,))
    db = Database(tmp_path / "db.sqlite3")
    accounts = Accounts(db, settings.regions)
    alice = accounts.ensure(DEFAULT_ACCOUNTS[0])
    objects = ObjectStore(db, BlobStore(tmp_path / "blobs"), REGION)
    yield Bench(
        settings,
        db,
        ImageStore(db, REGION),
        objects,
        BlobStore(tmp_path / "imagestore"),
        accounts,
        alice.tenant_id,
    )
    db.close()


IMPORT_INPUT = {"import_from": "nowhere/disk.vhd", "image_properties": {"name": "x"}}
EXPORT_INPUT = {"image_uuid": str(uuid.uuid4()), "receiving_swift_container": "exports"}


@pytest.mark.parametrize(
    ("task_type", "task_input", "forced", "message"),
    [
        (
            "import",
            IMPORT_INPUT,
            Forced("failure", "396"),
            "Image cannot be imported. Error code: '396'",
        ),
        (
            "export",
            EXPORT_INPUT,
            Forced("failure", "500"),
            "Image cannot be exported. Error code: '500'",
        ),
        ("import", IMPORT_INPUT, Forced("failure", "111", "Exactly this."), "Exactly this."),
    ],
)
def test_a_forced_failure_ends_the_task_with_its_code(
    bench: Bench, task_type: str, task_input: dict[str, Any], forced: Forced, message: str
) -> None:
    """A failure outcome fails the task at processing start with the coded message."""
    faults = FakeFaults(forced)
    engine = bench.engine(faults)
    try:
        first = bench.wait(bench.submit(engine, task_type, task_input))
        second = bench.wait(bench.submit(engine, task_type, task_input))
    finally:
        engine.stop()
    assert (first["status"], first["message"]) == ("failure", message)
    assert second["message"] != message
    assert faults.asked == [task_type, task_type]


def test_a_stuck_task_stays_processing_until_stop_and_finishes_after_a_restart(
    bench: Bench,
) -> None:
    """'stuck' holds a task in processing; the next start runs it to a terminal state."""
    engine = bench.engine(FakeFaults(Forced("stuck")))
    task_id = bench.submit(engine, "import", IMPORT_INPUT)
    _wait_for(lambda: bench.status(task_id)["status"] == "processing", "processing")
    time.sleep(0.5)
    assert bench.status(task_id)["status"] == "processing"
    started = time.monotonic()
    engine.stop()
    assert time.monotonic() - started < 5
    assert bench.status(task_id)["status"] == "processing"
    again = bench.engine(FakeFaults(Forced("failure", "396")))
    try:
        task = bench.wait(task_id)
    finally:
        again.stop()
    assert task["status"] == "failure"
    assert task["message"].startswith(NOT_FOUND)


def test_the_real_fault_injector_fits_the_engine(bench: Bench) -> None:
    """localcloud.faults' injector is accepted as the engine's faults source."""
    injector = FaultInjector()
    injector.add_task_outcome(FaultTaskOutcome(task_type="import", code="396"))
    engine = TaskEngine(
        bench.settings, bench.images, bench.objects, bench.blobs, bench.accounts, faults=injector
    )
    engine.start()
    try:
        task = bench.wait(bench.submit(engine, "import", IMPORT_INPUT))
    finally:
        engine.stop()
    assert task["message"] == "Image cannot be imported. Error code: '396'"


# the HTTP surface ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"type": "import", "input": {}}', "text/plain", 415),
        (b'{"type": "import", "input": {}}', None, 415),
        (b"{not json", "application/json", 400),
        (b"[]", "application/json", 400),
        (b'"import"', "application/json", 400),
        (b'{"input": {}}', "application/json", 400),
        (b'{"type": "import"}', "application/json", 400),
        (b'{"type": "convert", "input": {}}', "application/json", 400),
        (b'{"type": "import", "input": "c/o.vhd"}', "application/json", 400),
        (b'{"type": "import", "input": null}', "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
    ],
)
def test_malformed_create_requests_are_4xx(
    alice: Client, body: bytes, content_type: str | None, status: int
) -> None:
    """Wrong media type is 415; a body that is not a task is 400; never a 500."""
    headers = {**alice.session.headers}
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = httpx.post(f"{alice.images_url}/tasks", headers=headers, content=body)
    assert response.status_code == status, response.text


def test_tasks_need_a_token(alice: Client) -> None:
    """Without a valid token every task route is 401."""
    url = f"{alice.images_url}/tasks"
    assert httpx.get(url).status_code == 401
    assert httpx.post(url, json={"type": "import", "input": {}}).status_code == 401
    assert httpx.get(f"{url}/{uuid.uuid4()}", headers={"X-Auth-Token": "bogus"}).status_code == 401


def test_a_task_is_private_to_its_owner_and_cannot_be_deleted(alice: Client, bob: Client) -> None:
    """Another tenant gets 404 for the task; DELETE is 405 for everyone."""
    task = alice.create("import", IMPORT_INPUT)
    assert alice.get(task["id"]).status_code == 200
    assert bob.get(task["id"]).status_code == 404
    assert task["id"] not in [t["id"] for t in bob.listing(limit=1000).json()["tasks"]]
    assert alice.get(str(uuid.uuid4())).status_code == 404
    deleted = httpx.delete(f"{alice.images_url}/tasks/{task['id']}", headers=alice.session.headers)
    assert deleted.status_code == 405
    assert alice.get(task["id"]).status_code == 200


@pytest.fixture
def carol(running: Running) -> Client:
    """An account with no tasks yet, for listing tests."""
    return Client(login(running.cloud.identity_url, "carol", "carol-api-key"))


def test_the_list_is_sparse_filtered_sorted_and_paged(carol: Client) -> None:
    """GET /v2/tasks shows sparse entries, filters, sorts and pages with next links."""
    made = [carol.create("import", IMPORT_INPUT) for _ in range(3)]
    made.append(carol.create("export", EXPORT_INPUT))
    for task in made:
        carol.wait(task["id"])
    body = carol.listing().json()
    assert body["first"] == "/v2/tasks"
    assert body["schema"] == "/v2/schemas/tasks"
    assert "next" not in body
    assert len(body["tasks"]) == 4
    entry = body["tasks"][0]
    assert set(entry) == {*SPARSE, "expires_at"}
    exports = carol.listing(type="export").json()["tasks"]
    assert [t["id"] for t in exports] == [made[3]["id"]]
    assert len(carol.listing(status="failure").json()["tasks"]) == 4
    assert carol.listing(status="pending").json()["tasks"] == []
    ascending = [t["type"] for t in carol.listing(sort_key="type", sort_dir="asc").json()["tasks"]]
    assert ascending == ["export", "import", "import", "import"]
    first = carol.listing(limit=3, sort_key="type").json()
    assert len(first["tasks"]) == 3
    assert first["next"] == f"/v2/tasks?limit=3&sort_key=type&marker={first['tasks'][-1]['id']}"
    rest = carol.listing(limit=3, sort_key="type", marker=first["tasks"][-1]["id"]).json()
    assert first["tasks"][0]["type"] == "import"
    assert [t["type"] for t in rest["tasks"]] == ["export"]
    assert "next" not in rest
    seen = [t["id"] for t in first["tasks"] + rest["tasks"]]
    assert sorted(seen) == sorted(t["id"] for t in made)


SPARSE = {"id", "type", "status", "owner", "created_at", "updated_at", "self", "schema"}


@pytest.mark.parametrize(
    "params",
    [
        {"marker": "not-a-uuid"},
        {"marker": "00000000-0000-0000-0000-000000000000"},
        {"sort_key": "owner"},
        {"sort_dir": "sideways"},
        {"status": "done"},
        {"type": "convert"},
        {"limit": "many"},
        {"limit": "-1"},
    ],
)
def test_bad_list_parameters_are_400(alice: Client, params: dict[str, str]) -> None:
    """Unknown markers, sort keys, directions, filters and limits are rejected."""
    assert alice.listing(**params).status_code == 400


def test_a_marker_must_be_one_of_the_callers_tasks(alice: Client, bob: Client) -> None:
    """Another tenant's task id is not a valid marker."""
    task = alice.create("import", IMPORT_INPUT)
    assert alice.listing(marker=task["id"]).status_code == 200
    assert bob.listing(marker=task["id"]).status_code == 400
