"""Upstream Glance image data behind Keystone tokens: create, upload, download, stage, import.

Every test runs against a real Glance 33 behind keystonemiddleware (``slow``) and the
local cloud's RegionOne, with the same users; the tests the Rackspace dialect cannot run
(it has no data API) live here rather than in test_images_*.py.
"""

from __future__ import annotations

import hashlib
import os

import pytest
from openstack_fixtures import *  # noqa: F403 - registers os_target and its servers
from openstack_targets import OCTET, Login, OpenStackTarget

from tests.helpers.diskimages import make_qcow2, make_vhd

BASE_FIELDS = {
    "id",
    "name",
    "status",
    "visibility",
    "protected",
    "os_hidden",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "owner",
    "size",
    "virtual_size",
    "container_format",
    "disk_format",
    "created_at",
    "updated_at",
    "tags",
    "min_ram",
    "min_disk",
    "self",
    "file",
    "schema",
}


@pytest.fixture(scope="module")
def disks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Small real images made by qemu-img: qcow2, dynamic and fixed VHD (4 MiB virtual)."""
    where = tmp_path_factory.mktemp("disks")
    return {
        "qcow2": make_qcow2(where).read_bytes(),
        "dynamic": make_vhd(where, "dynamic").read_bytes(),
        "fixed": make_vhd(where, "fixed").read_bytes(),
    }


@pytest.fixture
def user1(os_target: OpenStackTarget) -> Login:
    return os_target.login("user1", "demo1")


def active(doc: dict[str, object]) -> bool:
    return doc["status"] == "active"


# --- create ----------------------------------------------------------------------------------


def test_create_makes_a_queued_record(os_target: OpenStackTarget, user1: Login) -> None:
    """201: every base field (nulls included), shared, owned by the project; import headers."""
    t = os_target
    body = {"name": "rec", "disk_format": "qcow2", "container_format": "bare", "x_a": "1"}

    resp = t.http.post(f"{t.glance(user1)}/v2/images", headers=user1.headers, json=body)

    assert resp.status_code == 201
    doc = resp.json()
    t._images.append((t.glance(user1), doc["id"], user1.headers))
    assert set(doc) == BASE_FIELDS | {"x_a"}
    assert (doc["status"], doc["visibility"], doc["owner"]) == (
        "queued",
        "shared",
        user1.project_id,
    )
    assert doc["size"] is doc["checksum"] is doc["os_hash_value"] is None
    assert resp.headers["location"] == f"{t.glance(user1)}/v2/images/{doc['id']}"
    methods = resp.headers["openstack-image-import-methods"].split(",")
    assert methods == ["glance-direct", "web-download", "copy-image"]
    # once imports have run, Glance 33 also lists its reserved os_glance_* stores here
    assert resp.headers["openstack-image-store-ids"].split(",")[0] == "fs"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"disk_format": "floppy"}, 400),
        ({"status": "active"}, 403),
        ({"checksum": "x"}, 403),
        ({"os_glance_x": "1"}, 403),
        ({"visibility": "public"}, 403),
        ({"owner": "someone-else"}, 403),
        ({"x_number": 5}, 400),
    ],
    ids=["unknown-format", "status", "checksum", "os_glance", "public", "owner", "custom-int"],
)
def test_create_refusals(
    os_target: OpenStackTarget, user1: Login, body: dict[str, object], status: int
) -> None:
    """Bad formats and property types 400; read-only, reserved, public or foreign owner 403."""
    t = os_target

    resp = t.http.post(f"{t.glance(user1)}/v2/images", headers=user1.headers, json=body)

    assert resp.status_code == status
    if resp.status_code == 201:
        t._images.append((t.glance(user1), resp.json()["id"], user1.headers))


def test_unknown_disk_format_names_the_formats_taken(os_target: OpenStackTarget) -> None:
    """The 400 lists the disk formats the region takes (RegionTwo: raw and qcow2 only)."""
    t = os_target
    user1 = t.login("user1", "demo1")
    body = {"disk_format": "vhd", "container_format": "bare"}

    resp = t.http.post(
        f"{t.glance(user1, 'RegionTwo')}/v2/images", headers=user1.headers, json=body
    )

    assert resp.status_code == 400
    assert "'vhd' is not one of [None, 'raw', 'qcow2']" in resp.json()["message"]


# --- upload and download -----------------------------------------------------------------------


def test_upload_hashes_sizes_and_activates(os_target: OpenStackTarget, user1: Login) -> None:
    """PUT /file: 204, active, md5 checksum, sha512 os_hash, size; GET returns the bytes."""
    t = os_target
    data = os.urandom(300_000)
    image = t.create_image(user1)

    put = t.put_data(user1, image, data)
    doc = t.image(user1, image)
    got = t.http.get(f"{t.glance(user1)}/v2/images/{image}/file", headers=user1.headers)

    assert put.status_code == 204
    assert doc["status"] == "active"
    assert doc["checksum"] == hashlib.md5(data).hexdigest()
    assert (doc["os_hash_algo"], doc["os_hash_value"]) == (
        "sha512",
        hashlib.sha512(data).hexdigest(),
    )
    assert doc["size"] == doc["virtual_size"] == len(data)
    assert doc["stores"] == "fs"
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == OCTET


def test_ranged_downloads(os_target: OpenStackTarget, user1: Login) -> None:
    """One range 206 with Content-Range; a suffix range; several ranges 400; past the end 416."""
    t = os_target
    data = os.urandom(50_000)
    image = t.create_image(user1)
    t.put_data(user1, image, data)
    url = f"{t.glance(user1)}/v2/images/{image}/file"

    def get(spec: str) -> object:
        return t.http.get(url, headers={**user1.headers, "Range": spec})

    part, tail, many, past = (
        get("bytes=10-19"),
        get("bytes=-10"),
        get("bytes=1-2,5-6"),
        get("bytes=60000-"),
    )

    assert (part.status_code, part.content) == (206, data[10:20])  # type: ignore[attr-defined]
    assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"  # type: ignore[attr-defined]
    assert (tail.status_code, tail.content) == (206, data[-10:])  # type: ignore[attr-defined]
    assert many.status_code == 400  # type: ignore[attr-defined]
    assert past.status_code == 416  # type: ignore[attr-defined]


def test_upload_refusals(os_target: OpenStackTarget, user1: Login) -> None:
    """Non-octet-stream 415; no formats 400; a second upload 409; the record stays usable."""
    t = os_target
    image = t.create_image(user1)
    bare = t.create_image(user1, disk_format=None, container_format=None)
    url = f"{t.glance(user1)}/v2/images/{image}/file"

    as_json = t.http.put(
        url, headers={**user1.headers, "Content-Type": "application/json"}, content=b"{}"
    )
    no_formats = t.put_data(user1, bare, b"x" * 100)
    first = t.put_data(user1, image, b"y" * 100)
    second = t.put_data(user1, image, b"y" * 100)

    assert as_json.status_code == 415
    assert no_formats.status_code == 400
    assert "must be set prior to saving data" in no_formats.json()["message"]
    assert first.status_code == 204
    assert second.status_code == 409
    assert t.image(user1, bare)["status"] == "queued"


@pytest.mark.parametrize(
    ("disk", "disk_format", "accepted", "virtual_size"),
    [
        ("qcow2", "qcow2", True, 4 * 1024**2),
        ("dynamic", "vhd", True, 4 * 1024**2),
        ("fixed", "vhd", False, None),  # a fixed VHD reads as raw: refused as vhd
        ("qcow2", "raw", True, "size"),
        ("qcow2", "vhd", False, None),
    ],
    ids=["qcow2", "dynamic-vhd", "fixed-vhd-as-vhd", "qcow2-as-raw", "qcow2-as-vhd"],
)
def test_format_inspection_on_upload(
    os_target: OpenStackTarget,
    user1: Login,
    disks: dict[str, bytes],
    disk: str,
    disk_format: str,
    accepted: bool,
    virtual_size: object,
) -> None:
    """Data must be what disk_format says (raw takes anything); a mismatch is 415, queued."""
    t = os_target
    image = t.create_image(user1, disk_format=disk_format)

    resp = t.put_data(user1, image, disks[disk])
    doc = t.image(user1, image)

    assert resp.status_code == (204 if accepted else 415)
    if accepted:
        want = len(disks[disk]) if virtual_size == "size" else virtual_size
        assert (doc["status"], doc["virtual_size"]) == ("active", want)
    else:
        assert "does not match stream data" in resp.json()["message"]
        assert (doc["status"], doc["size"]) == ("queued", None)


def test_reader_reads_but_cannot_write(os_target: OpenStackTarget, user1: Login) -> None:
    """The reader role lists and shows images, but creating, uploading, staging is 403."""
    t = os_target
    reader = t.login("reader1", "demo1")
    image = t.create_image(user1)
    url = t.glance(reader)

    shown = t.http.get(f"{url}/v2/images/{image}", headers=reader.headers)
    created = t.http.post(f"{url}/v2/images", headers=reader.headers, json={"name": "r"})
    uploaded = t.put_data(reader, image, b"x" * 10)
    staged = t.put_data(reader, image, b"x" * 10, where="stage")
    deleted = t.http.delete(f"{url}/v2/images/{image}", headers=reader.headers)

    assert shown.status_code == 200
    assert (created.status_code, uploaded.status_code) == (403, 403)
    assert (staged.status_code, deleted.status_code) == (403, 403)
    assert t.image(user1, image)["status"] == "queued"


# --- stage and import ---------------------------------------------------------------------


def test_glance_direct_import(os_target: OpenStackTarget, user1: Login) -> None:
    """PUT /stage (uploading), POST /import glance-direct (202), then active and hashed."""
    t = os_target
    data = os.urandom(200_000)
    image = t.create_image(user1)

    staged = t.put_data(user1, image, data, where="stage")
    after_stage = t.image(user1, image)
    started = t.start_import(user1, image, {"name": "glance-direct"})
    doc = t.wait_image(user1, image, active)
    tasks = t.http.get(f"{t.glance(user1)}/v2/images/{image}/tasks", headers=user1.headers)

    assert staged.status_code == 204
    assert (after_stage["status"], after_stage["size"]) == ("uploading", len(data))
    assert started.status_code == 202
    assert doc["checksum"] == hashlib.md5(data).hexdigest()
    assert doc["os_glance_failed_import"] == ""
    (task,) = tasks.json()["tasks"]
    assert (task["type"], task["status"]) == ("api_image_import", "success")


def test_web_download_import(os_target: OpenStackTarget, user1: Login) -> None:
    """web-download from an http URL the Glance may reach ends active with that data."""
    t = os_target
    data = os.urandom(120_000)
    (t.serve_dir / "wd.raw").write_bytes(data)
    image = t.create_image(user1)

    started = t.start_import(user1, image, {"name": "web-download", "uri": t.file_url("wd.raw")})
    doc = t.wait_image(user1, image, active)

    assert started.status_code == 202
    assert doc["os_hash_value"] == hashlib.sha512(data).hexdigest()


def test_failed_web_download_returns_to_queued(os_target: OpenStackTarget, user1: Login) -> None:
    """A URL that 404s: the image goes back to queued, marked os_glance_failed_import."""
    t = os_target
    image = t.create_image(user1)

    started = t.start_import(user1, image, {"name": "web-download", "uri": t.file_url("nope.raw")})
    doc = t.wait_image(user1, image, lambda d: d.get("os_glance_failed_import") == "fs")

    assert started.status_code == 202
    assert (doc["status"], doc["size"]) == ("queued", None)


def test_failed_glance_direct_stays_importing(
    os_target: OpenStackTarget, user1: Login, disks: dict[str, bytes]
) -> None:
    """Staged data that is not what disk_format says: stuck importing until deleted."""
    t = os_target
    image = t.create_image(user1, disk_format="qcow2")
    t.put_data(user1, image, disks["dynamic"], where="stage")

    t.start_import(user1, image, {"name": "glance-direct"})
    doc = t.wait_image(user1, image, lambda d: d.get("os_glance_failed_import") == "fs")
    again = t.start_import(user1, image, {"name": "glance-direct"})
    deleted = t.http.delete(f"{t.glance(user1)}/v2/images/{image}", headers=user1.headers)

    assert doc["status"] == "importing"
    assert again.status_code == 409
    assert deleted.status_code == 204


@pytest.mark.parametrize(
    ("stage_first", "method", "status"),
    [
        (False, {"name": "glance-direct"}, 409),
        (False, {"name": "nope"}, 400),
        (False, {"name": "web-download", "uri": "file:///etc/passwd"}, 400),
        (False, {"name": "copy-image"}, 409),
        (True, {"name": "web-download", "uri": "http://127.0.0.1:1/x"}, None),
    ],
    ids=["unstaged", "unknown-method", "file-uri", "copy-image-queued", "staged-web-download"],
)
def test_import_refusals(
    os_target: OpenStackTarget,
    user1: Login,
    stage_first: bool,
    method: dict[str, str],
    status: int | None,
) -> None:
    """Not staged 409, unknown method 400, a non-http URI 400, copying a queued image 409."""
    t = os_target
    image = t.create_image(user1)
    if stage_first:
        t.put_data(user1, image, b"z" * 1000, where="stage")

    resp = t.start_import(user1, image, method)

    if status is None:  # web-download of an uploading image: filtering or status refuses it
        assert resp.status_code in (400, 409)
    else:
        assert resp.status_code == status


def test_import_of_an_active_image(os_target: OpenStackTarget, user1: Login) -> None:
    """An image with data is no import target (409); copy-image is for admins only (403)."""
    t = os_target
    image = t.create_image(user1)
    t.put_data(user1, image, b"a" * 100)

    resp = t.start_import(user1, image, {"name": "glance-direct"})
    copy = t.start_import(user1, image, {"name": "copy-image"})

    assert resp.status_code == 409
    assert copy.status_code == 403


def test_discovery(os_target: OpenStackTarget, user1: Login) -> None:
    """/v2/info/import lists the enabled methods, /v2/info/stores the store, /versions v2.x."""
    t = os_target
    url = t.glance(user1)

    methods = t.http.get(f"{url}/v2/info/import", headers=user1.headers).json()
    stores = t.http.get(f"{url}/v2/info/stores", headers=user1.headers).json()
    versions = t.http.get(f"{url}/versions").json()

    assert methods["import-methods"]["value"] == ["glance-direct", "web-download", "copy-image"]
    assert stores == {"stores": [{"id": "fs", "default": "true"}]}
    assert versions["versions"][0]["id"] == "v2.15"


def test_no_token_is_401_naming_keystone(os_target: OpenStackTarget, user1: Login) -> None:
    """Without a token Glance answers 401 with a Keystone challenge."""
    t = os_target

    resp = t.http.get(f"{t.glance(user1)}/v2/images", headers={"Accept": "application/json"})
    bogus = t.http.get(f"{t.glance(user1)}/v2/images", headers={"X-Auth-Token": "bogus"})

    assert (resp.status_code, bogus.status_code) == (401, 401)
    assert resp.headers["www-authenticate"] == f'Keystone uri="{t.keystone_root}"'
