"""Refusals a pipeline must handle cleanly: methods not enabled, quotas, Swift access.

RegionTwo is strict on both targets (raw and qcow2 only, glance-direct only, 4 MiB of
image data per project); Swift answers keystoneauth's way. Every test runs against the
real mini OpenStack (``slow``) and the local cloud. Quota tests use demo3 only, so no
other test's images count against them.
"""

from __future__ import annotations

import os

import pytest
from openstack_fixtures import *  # noqa: F403 - registers os_target and its servers
from openstack_targets import Login, OpenStackTarget

MIB = 1024 * 1024
QUOTA = 4 * MIB


@pytest.fixture
def user3(os_target: OpenStackTarget) -> Login:
    return os_target.login("user3", "demo3")


def test_import_method_not_enabled(os_target: OpenStackTarget, user3: Login) -> None:
    """RegionTwo offers glance-direct only; web-download there is an unknown method (400)."""
    t = os_target
    image = t.create_image(user3, "RegionTwo")
    url = t.glance(user3, "RegionTwo")

    info = t.http.get(f"{url}/v2/info/import", headers=user3.headers)
    resp = t.start_import(
        user3, image, {"name": "web-download", "uri": t.file_url("x.raw")}, "RegionTwo"
    )

    assert info.json()["import-methods"]["value"] == ["glance-direct"]
    assert resp.status_code == 400
    assert resp.json()["message"].startswith("Unknown import method name 'web-download'.")
    assert t.image(user3, image, "RegionTwo")["status"] == "queued"


def test_upload_over_the_quota_is_413_and_leaves_the_image_queued(
    os_target: OpenStackTarget, user3: Login
) -> None:
    """413 naming the bytes remaining; the image is queued again, no data kept."""
    t = os_target
    image = t.create_image(user3, "RegionTwo")

    resp = t.put_data(user3, image, os.urandom(QUOTA + MIB), region="RegionTwo")
    doc = t.image(user3, image, "RegionTwo")

    assert resp.status_code == 413
    message = resp.json()["message"]
    assert "Image exceeds the storage quota" in message
    assert f"{QUOTA} bytes remaining" in message
    assert (doc["status"], doc["size"], doc["checksum"]) == ("queued", None, None)


def test_quota_counts_every_image_of_the_project(os_target: OpenStackTarget, user3: Login) -> None:
    """3 MiB fit; 2 MiB more do not (1 MiB remaining); deleting the first frees the room."""
    t = os_target
    first, second = t.create_image(user3, "RegionTwo"), t.create_image(user3, "RegionTwo")

    fits = t.put_data(user3, first, os.urandom(3 * MIB), region="RegionTwo")
    over = t.put_data(user3, second, os.urandom(2 * MIB), region="RegionTwo")
    t.http.delete(f"{t.glance(user3, 'RegionTwo')}/v2/images/{first}", headers=user3.headers)
    after = t.put_data(user3, second, os.urandom(2 * MIB), region="RegionTwo")

    assert fits.status_code == 204
    assert over.status_code == 413
    assert f"{MIB} bytes remaining" in over.json()["message"]
    assert after.status_code == 204


def test_import_over_the_quota_fails_and_stays_importing(
    os_target: OpenStackTarget, user3: Login
) -> None:
    """Staging is not counted; the glance-direct import then fails and the image is stuck."""
    t = os_target
    image = t.create_image(user3, "RegionTwo")

    staged = t.put_data(user3, image, os.urandom(QUOTA + MIB), where="stage", region="RegionTwo")
    started = t.start_import(user3, image, {"name": "glance-direct"}, "RegionTwo")
    doc = t.wait_image(
        user3, image, lambda d: d.get("os_glance_failed_import") == "fs", "RegionTwo"
    )

    assert (staged.status_code, started.status_code) == (204, 202)
    assert doc["status"] == "importing"


# --- Swift behind Keystone -------------------------------------------------------------------


def test_swift_owner_writes_with_its_token(os_target: OpenStackTarget) -> None:
    """A member's token writes to AUTH_<project> found in the catalog."""
    t = os_target
    login = t.login("user1", "demo1")
    storage = login.endpoint("object-store")
    container = f"{storage}/conf-{os.urandom(4).hex()}"

    made = t.http.put(container, headers=login.headers)
    put = t.http.put(f"{container}/o", headers=login.headers, content=b"hello")
    got = t.http.get(f"{container}/o", headers=login.headers)
    t.http.delete(f"{container}/o", headers=login.headers)
    t.http.delete(container, headers=login.headers)

    assert made.status_code in (201, 202)
    assert put.status_code == 201
    assert got.content == b"hello"


def test_swift_refuses_readers_strangers_and_the_anonymous(os_target: OpenStackTarget) -> None:
    """reader1 (no operator role) 403 on its own account; user2 403; no/bogus token 401."""
    t = os_target
    storage = t.login("user1", "demo1").endpoint("object-store")
    reader, stranger = t.login("reader1", "demo1"), t.login("user2", "demo2")

    by_reader = t.http.get(storage, headers=reader.headers)
    by_stranger = t.http.get(storage, headers=stranger.headers)
    anonymous = t.http.get(storage)
    bogus = t.http.get(storage, headers={"X-Auth-Token": "bogus"})

    assert (by_reader.status_code, by_stranger.status_code) == (403, 403)
    assert (anonymous.status_code, bogus.status_code) == (401, 401)
