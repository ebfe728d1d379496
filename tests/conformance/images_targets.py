"""One Cloud Images service seen through a small, target-neutral interface.

The images conformance suite runs every behaviour test against a real OpenStack Glance 33
and against the local cloud.  Both are reached over plain HTTP with three accounts: the
``owner`` of the images a test makes, a ``consumer`` it shares them with and a ``stranger``
who sees only public images.  What differs is how a request is authenticated (trusted
headers vs an Identity v2.0 token) and how an image comes to exist: Glance creates it the
upstream way (``POST /v2/images`` + upload), the local cloud the Rackspace way (upload a
VHD to Cloud Files, then an import task), since Rackspace has no image-create call.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx

PATCH_V21 = "application/openstack-images-v2.1-json-patch"
PATCH_V20 = "application/openstack-images-v2.0-json-patch"
IMPORT_CONTAINER = "conformance-images"
WAIT_SECONDS = 60.0


Creator = Callable[["ImagesTarget", "ImagesAccount", str], str]
Importer = Callable[["ImagesTarget", str], httpx.Response]


@dataclass(frozen=True)
class ImagesAccount:
    """A tenant and the headers that authenticate as it (JSON error bodies requested)."""

    tenant: str
    headers: dict[str, str]
    storage_url: str | None = None  # Cloud Files of the same region (local cloud only)


@dataclass
class ImagesTarget:
    """Per-test view of one Cloud Images service; images it made are deleted afterwards."""

    name: str  # "glance" | "localcloud" | "openstack" (the local cloud's upstream region)
    url: str  # scheme://host:port, without /v2
    owner: ImagesAccount
    consumer: ImagesAccount
    stranger: ImagesAccount
    public_image: str  # id of a public image every account sees
    creator: Creator
    importer: Importer  # starts an import task of the owner; returns the POST's response
    admin: ImagesAccount | None = None  # the owner's project with the admin role (tasks)
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))
    _made: list[tuple[ImagesAccount, str]] = field(default_factory=list)

    def view(self) -> ImagesTarget:
        """A fresh view with its own client and bookkeeping, sharing the accounts."""
        return ImagesTarget(
            self.name,
            self.url,
            self.owner,
            self.consumer,
            self.stranger,
            self.public_image,
            self.creator,
            self.importer,
            self.admin,
        )

    def api(self, path: str) -> str:
        """Absolute URL of an API path such as ``/v2/images``."""
        return self.url + path

    @property
    def task_account(self) -> ImagesAccount:
        """The owner as task calls need it: upstream with the admin role (tasks-need-admin)."""
        return self.admin or self.owner

    def finish_task(self, task_id: str) -> dict[str, Any]:
        """Poll a task until success or failure; the image it made is deleted afterwards."""
        url = self.api(f"/v2/tasks/{task_id}")
        task = wait_for(
            lambda: self.http.get(url, headers=self.task_account.headers).json(),
            lambda doc: doc["status"] in ("success", "failure"),
        )
        image_id = (task.get("result") or {}).get("image_id")
        if image_id:
            self._made.append((self.task_account, image_id))
        return task

    def start_import(self, name: str) -> httpx.Response:
        """``POST /v2/tasks`` importing a small disk as the owner (Glance: with admin role)."""
        return self.importer(self, name)

    def make_image(self, account: ImagesAccount, name: str, **props: Any) -> str:
        """An active image owned by ``account``; ``props`` are then added with PATCH."""
        image_id = self.creator(self, account, name)
        self._made.append((account, image_id))
        if props:
            ops = [{"op": "add", "path": f"/{k}", "value": v} for k, v in props.items()]
            resp = self.patch(account, image_id, ops)
            assert resp.status_code == 200, resp.text
        return image_id

    def image(self, account: ImagesAccount, image_id: str) -> dict[str, Any]:
        """The image document as ``account`` sees it (must be visible)."""
        resp = self.http.get(self.api(f"/v2/images/{image_id}"), headers=account.headers)
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    def patch(
        self, account: ImagesAccount, image_id: str, ops: Any, media: str = PATCH_V21
    ) -> httpx.Response:
        """``PATCH /v2/images/{id}`` with a JSON-patch body of the given media type."""
        headers = {**account.headers, "Content-Type": media}
        return self.http.patch(self.api(f"/v2/images/{image_id}"), headers=headers, json=ops)

    def listing(self, account: ImagesAccount, **params: Any) -> list[str]:
        """Ids of one page of ``GET /v2/images`` with ``params``."""
        resp = self.http.get(self.api("/v2/images"), headers=account.headers, params=params)
        assert resp.status_code == 200, resp.text
        return [i["id"] for i in resp.json()["images"]]

    def share(self, image_id: str, status: str | None = None) -> None:
        """Make ``consumer`` a member of the owner's image, optionally setting its status."""
        members = self.api(f"/v2/images/{image_id}/members")
        resp = self.http.post(
            members, headers=self.owner.headers, json={"member": self.consumer.tenant}
        )
        assert resp.status_code == 200, resp.text
        if status is not None:
            url = f"{members}/{self.consumer.tenant}"
            resp = self.http.put(url, headers=self.consumer.headers, json={"status": status})
            assert resp.status_code == 200, resp.text

    def cleanup(self) -> None:
        """Best effort: unprotect and delete every image this view made, newest first."""
        for account, image_id in reversed(self._made):
            with suppress(httpx.HTTPError):
                self.patch(
                    account, image_id, [{"op": "replace", "path": "/protected", "value": False}]
                )
                self.http.delete(self.api(f"/v2/images/{image_id}"), headers=account.headers)
        self._made.clear()
        self.http.close()


def unique(prefix: str = "conf") -> str:
    """A name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def wait_for(
    fetch: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Poll ``fetch`` until ``done`` holds; fail with the last document after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        doc = fetch()
        if done(doc):
            return doc
        assert time.monotonic() < deadline, f"gave up waiting: {doc}"
        time.sleep(0.1)


# --- Glance 33: create, upload, wait --------------------------------------------------------


def glance_create(target: ImagesTarget, account: ImagesAccount, name: str) -> str:
    """Upstream way: ``POST /v2/images`` (raw/bare, default visibility), upload, wait active."""
    body = {"name": name, "disk_format": "raw", "container_format": "bare"}
    resp = target.http.post(target.api("/v2/images"), headers=account.headers, json=body)
    assert resp.status_code == 201, resp.text
    image_id = str(resp.json()["id"])
    headers = {**account.headers, "Content-Type": "application/octet-stream"}
    data = uuid.uuid4().bytes * 64  # random bytes pass Glance's format check as raw
    resp = target.http.put(target.api(f"/v2/images/{image_id}/file"), headers=headers, content=data)
    assert resp.status_code == 204, resp.text
    wait_for(lambda: target.image(account, image_id), lambda d: d["status"] == "active")
    return image_id


def glance_importer(serve_dir: Path, file_url: Callable[[str], str]) -> Importer:
    """Legacy import task from Glance's allowed file server; tasks need the admin role."""

    def start(target: ImagesTarget, name: str) -> httpx.Response:
        (serve_dir / f"{name}.raw").write_bytes(uuid.uuid4().bytes * 64)
        task_input = {
            "import_from": file_url(f"{name}.raw"),
            "import_from_format": "raw",
            "image_properties": {"name": name, "disk_format": "raw", "container_format": "bare"},
        }
        body = {"type": "import", "input": task_input}
        headers = target.task_account.headers
        return target.http.post(target.api("/v2/tasks"), headers=headers, json=body)

    return start


# --- local cloud: upload a VHD to Cloud Files, import it with a task -------------------------


@cache
def small_vhd() -> bytes:
    """A 1 MiB fixed VHD made by qemu-img (what Rackspace imports)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.vhd"
        cmd = ["qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=fixed,force_size=on"]
        subprocess.run([*cmd, str(path), "1M"], check=True, capture_output=True)
        return path.read_bytes()


def localcloud_upload_vhd(target: ImagesTarget, account: ImagesAccount) -> str:
    """Put a small VHD into the account's Cloud Files; return its ``container/object``."""
    assert account.storage_url is not None
    auth = {"X-Auth-Token": account.headers["X-Auth-Token"]}
    container = f"{account.storage_url}/{IMPORT_CONTAINER}"
    assert target.http.put(container, headers=auth).status_code in (201, 202)
    obj = f"{unique('upload')}.vhd"
    resp = target.http.put(f"{container}/{obj}", headers=auth, content=small_vhd())
    assert resp.status_code == 201, resp.text
    return f"{IMPORT_CONTAINER}/{obj}"


def localcloud_start_import(
    target: ImagesTarget, name: str, account: ImagesAccount | None = None
) -> httpx.Response:
    """Upload a small VHD to the account's Cloud Files and ``POST /v2/tasks`` to import it."""
    account = account or target.owner
    task_input = {
        "import_from": localcloud_upload_vhd(target, account),
        "image_properties": {"name": name},
    }
    body = {"type": "import", "input": task_input}
    return target.http.post(target.api("/v2/tasks"), headers=account.headers, json=body)


def localcloud_import(target: ImagesTarget, account: ImagesAccount, name: str) -> str:
    """Rackspace way: VHD into the account's Cloud Files, ``POST /v2/tasks``, poll to success."""
    resp = localcloud_start_import(target, name, account)
    assert resp.status_code == 201, resp.text
    url = target.api(f"/v2/tasks/{resp.json()['id']}")
    task = wait_for(
        lambda: target.http.get(url, headers=account.headers).json(),
        lambda t: t["status"] in ("success", "failure"),
    )
    assert task["status"] == "success", task
    import_from = task["input"]["import_from"]
    auth = {"X-Auth-Token": account.headers["X-Auth-Token"]}
    target.http.delete(f"{account.storage_url}/{import_from}", headers=auth)
    return str(task["result"]["image_id"])
