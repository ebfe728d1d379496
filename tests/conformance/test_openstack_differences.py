"""One test per entry of openstack_differences.DIFFERENCES, asserting each side on its target.

Run against the real mini OpenStack a test checks the upstream behaviour, against the
local cloud the local one; ``on(t.name, real=..., local=...)`` picks the expectation.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import uuid
from pathlib import Path

from openstack_differences import DIFFERENCES, on
from openstack_fixtures import *  # noqa: F403 - registers os_target and its servers
from openstack_targets import OpenStackTarget

DOC = Path(__file__).resolve().parents[2] / "docs" / "openstack-differences.md"
PATCH = "application/openstack-images-v2.1-json-patch"


def test_every_difference_has_a_test_and_a_doc_entry() -> None:
    """Each difference id has exactly one test here and one heading in the document."""
    tests = {name for name in dir(sys.modules[__name__]) if name.startswith("test_")}
    headings = {
        line[3:].strip("` ") for line in DOC.read_text().splitlines() if line.startswith("## ")
    }

    for diff_id in DIFFERENCES:
        assert f"test_{diff_id.replace('-', '_')}" in tests, diff_id
    assert headings == set(DIFFERENCES)


def test_owner_add(os_target: OpenStackTarget) -> None:
    """``add /owner`` is 403 on both, yet Glance 33 hands the image over anyway."""
    t = os_target
    owner, stranger = t.login("user1", "demo1"), t.login("user3", "demo3")
    image = t.create_image(owner)
    url = f"{t.glance(owner)}/v2/images/{image}"
    ops = [{"op": "add", "path": "/owner", "value": stranger.project_id}]

    resp = t.http.patch(url, headers={**owner.headers, "Content-Type": PATCH}, json=ops)
    seen = t.http.get(url, headers=stranger.headers)

    assert resp.status_code == 403
    assert seen.status_code == on(t.name, real=200, local=404)
    if seen.status_code == 200:
        t.http.delete(url, headers=stranger.headers)


def test_identity_root_versions(os_target: OpenStackTarget) -> None:
    """The identity root lists v2.0 beside v3 on the local cloud only."""
    t = os_target

    listed = t.http.get(f"{t.keystone_root}/").json()["versions"]["values"]

    assert [v["id"] for v in listed] == on(t.name, real=["v3.14"], local=["v3.14", "v2.0"])


def test_refused_upload_checksum(os_target: OpenStackTarget) -> None:
    """After a 415 (zeros claimed as qcow2) Glance keeps the md5 of the refused data."""
    t = os_target
    login = t.login("user1", "demo1")
    image = t.create_image(login, disk_format="qcow2")
    zeros = bytes(1024 * 1024)

    resp = t.put_data(login, image, zeros)
    doc = t.image(login, image)

    assert resp.status_code == 415
    assert doc["status"] == "queued"
    assert doc["checksum"] == on(t.name, real=hashlib.md5(zeros).hexdigest(), local=None)


def test_vhdx_virtual_size(os_target: OpenStackTarget, tmp_path: Path) -> None:
    """A 4 MiB VHDX: Glance reads its virtual size, the local header sniffer does not."""
    t = os_target
    login = t.login("user1", "demo1")
    path = tmp_path / "disk.vhdx"
    subprocess.run(["qemu-img", "create", "-q", "-f", "vhdx", str(path), "4M"], check=True)
    image = t.create_image(login, disk_format="vhdx")

    resp = t.put_data(login, image, path.read_bytes())

    assert resp.status_code == 204
    assert t.image(login, image)["virtual_size"] == on(t.name, real=4 * 1024**2, local=None)


def test_swift_acl_user_ids(os_target: OpenStackTarget) -> None:
    """An ACL naming ``<project id>:<user id>`` lets that user read on real Swift only."""
    t = os_target
    owner, reader = t.login("user1", "demo1"), t.login("user2", "demo2")
    container = f"{owner.endpoint('object-store')}/conf-{uuid.uuid4().hex[:8]}"
    user2 = reader.body["token"]["user"]["id"]
    acl = {**owner.headers, "X-Container-Read": f"{reader.project_id}:{user2}"}
    t.http.put(container, headers=acl)
    t.http.put(f"{container}/o", headers=owner.headers, content=b"shared")

    resp = t.http.get(f"{container}/o", headers=reader.headers)
    t.http.delete(f"{container}/o", headers=owner.headers)
    t.http.delete(container, headers=owner.headers)

    assert resp.status_code == on(t.name, real=200, local=403)
