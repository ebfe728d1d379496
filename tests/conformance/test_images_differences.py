"""One test per entry of images_differences.DIFFERENCES, asserting each side on its target.

Run against Glance 33 the test checks the upstream behaviour, against the local cloud the
Rackspace behaviour; ``on(t.name, glance=..., localcloud=...)`` picks the expectation.
"""

from __future__ import annotations

import sys
from pathlib import Path

from images_differences import DIFFERENCES, on
from images_fixtures import *  # noqa: F403 - registers image_target and its servers
from images_targets import ImagesTarget, unique

DOC = Path(__file__).resolve().parents[2] / "docs" / "cloudimages-differences.md"


def test_every_difference_has_a_test_and_a_doc_entry() -> None:
    """Each difference id has exactly one test here and one heading in the document."""
    tests = {name for name in dir(sys.modules[__name__]) if name.startswith("test_")}
    headings = {
        line[3:].strip("` ") for line in DOC.read_text().splitlines() if line.startswith("## ")
    }

    for diff_id in DIFFERENCES:
        assert f"test_{diff_id.replace('-', '_')}" in tests, diff_id
    assert headings == set(DIFFERENCES)


def test_shared_visibility(image_target: ImagesTarget) -> None:
    """A shared image reads ``shared`` on Glance and ``private`` on Rackspace."""
    t = image_target
    image = t.make_image(t.owner, unique())
    t.share(image, "accepted")
    to_private = t.patch(
        t.owner,
        t.make_image(t.owner, unique()),
        [{"op": "replace", "path": "/visibility", "value": "private"}],
    )
    to_shared = t.patch(
        t.owner, image, [{"op": "replace", "path": "/visibility", "value": "shared"}]
    )

    assert t.image(t.owner, image)["visibility"] == on(
        t.name, glance="shared", localcloud="private"
    )
    assert to_shared.status_code == on(t.name, glance=200, localcloud=400)
    assert to_private.status_code == 200
    private_id = to_private.json()["id"]
    add = t.http.post(
        t.api(f"/v2/images/{private_id}/members"),
        headers=t.owner.headers,
        json={"member": t.consumer.tenant},
    )
    assert add.status_code == on(t.name, glance=403, localcloud=200)


def test_visibility_filters(image_target: ImagesTarget) -> None:
    """Glance's shared/private filters follow the visibility column, Rackspace's the share."""
    t = image_target
    image = t.make_image(t.owner, unique())
    t.share(image, "accepted")

    assert (image in t.listing(t.owner, visibility="shared", limit=1000)) is on(
        t.name, glance=True, localcloud=False
    )
    assert (image in t.listing(t.consumer, visibility="private", limit=1000)) is on(
        t.name, glance=False, localcloud=True
    )


def test_visibility_values(image_target: ImagesTarget) -> None:
    """``community`` and ``all`` are visibility values on Glance only."""
    t = image_target
    enum = t.http.get(t.api("/v2/schemas/image"), headers=t.owner.headers).json()["properties"][
        "visibility"
    ]["enum"]

    for value in ("community", "all"):
        resp = t.http.get(
            t.api("/v2/images"), headers=t.owner.headers, params={"visibility": value}
        )
        assert resp.status_code == on(t.name, glance=200, localcloud=400)
    assert sorted(enum) == on(
        t.name,
        glance=["community", "private", "public", "shared"],
        localcloud=["private", "public"],
    )


def test_create_image(image_target: ImagesTarget) -> None:
    """Records and data come and go directly on Glance; only through tasks on Rackspace."""
    t = image_target
    body = {"name": unique(), "disk_format": "raw", "container_format": "bare"}
    image = t.make_image(t.owner, unique())

    created = t.http.post(t.api("/v2/images"), headers=t.owner.headers, json=body)
    download = t.http.get(t.api(f"/v2/images/{image}/file"), headers=t.owner.headers)

    assert created.status_code == on(t.name, glance=201, localcloud=403)
    assert download.status_code == on(t.name, glance=200, localcloud=403)
    if created.status_code == 201:
        t.http.delete(t.api(f"/v2/images/{created.json()['id']}"), headers=t.owner.headers)


def test_glance_only_fields(image_target: ImagesTarget) -> None:
    """``os_hidden``, ``os_hash_*`` and ``stores`` appear on Glance images only."""
    t = image_target
    doc = t.image(t.owner, t.make_image(t.owner, unique()))

    fields = {"os_hidden", "os_hash_algo", "os_hash_value", "stores"}
    assert (fields <= set(doc)) is on(t.name, glance=True, localcloud=False)
    assert fields & set(doc) == on(t.name, glance=fields, localcloud=set())


def test_rackspace_property_protection(image_target: ImagesTarget) -> None:
    """``com.rackspace*``/``org.openstack*`` properties are protected on Rackspace only."""
    t = image_target
    image = t.make_image(t.owner, unique())

    for key in ("com.rackspace__1__options", "org.openstack__1__os_distro"):
        resp = t.patch(t.owner, image, [{"op": "add", "path": f"/{key}", "value": "1"}])
        assert resp.status_code == on(t.name, glance=200, localcloud=403), key


def test_is_public_reserved(image_target: ImagesTarget) -> None:
    """``is_public`` is an ordinary property on Glance 33 and reserved on Rackspace."""
    t = image_target
    image = t.make_image(t.owner, unique())

    resp = t.patch(t.owner, image, [{"op": "add", "path": "/is_public", "value": "true"}])

    assert resp.status_code == on(t.name, glance=200, localcloud=403)


def test_empty_pointer(image_target: ImagesTarget) -> None:
    """PATCH of the pointer ``/`` is a 409 on Glance and a 400 on Rackspace."""
    t = image_target
    image = t.make_image(t.owner, unique())

    resp = t.patch(t.owner, image, [{"op": "replace", "path": "/", "value": "x"}])

    assert resp.status_code == on(t.name, glance=409, localcloud=400)


def test_owner_add(image_target: ImagesTarget) -> None:
    """``add /owner`` is refused on both, yet Glance 33 hands the image over anyway."""
    t = image_target
    image = t.make_image(t.owner, unique())

    resp = t.patch(t.owner, image, [{"op": "add", "path": "/owner", "value": t.stranger.tenant}])

    assert resp.status_code == 403
    after = t.http.get(t.api(f"/v2/images/{image}"), headers=t.stranger.headers)
    # the local upstream region keeps the image (openstack_differences: owner-add)
    assert after.status_code == on(t.name, glance=200, localcloud=404, openstack=404)
    if after.status_code == 200:
        t.http.delete(t.api(f"/v2/images/{image}"), headers=t.stranger.headers)


def test_task_message(image_target: ImagesTarget) -> None:
    """A new task's ``message`` is ``""`` on Glance and ``"None"`` on Rackspace."""
    t = image_target

    resp = t.start_import(unique("task"))

    assert resp.status_code == 201
    assert resp.json()["message"] == on(t.name, glance="", localcloud="None")
    t.finish_task(resp.json()["id"])


def test_task_image_owner(image_target: ImagesTarget) -> None:
    """An imported image belongs to the caller on Rackspace and to nobody on Glance 33."""
    t = image_target
    task = t.finish_task(t.start_import(unique("task")).json()["id"])
    image = task["result"]["image_id"]

    seen_by_stranger = t.http.get(t.api(f"/v2/images/{image}"), headers=t.stranger.headers)

    assert t.image(t.owner, image)["owner"] == on(t.name, glance=None, localcloud=t.owner.tenant)
    assert seen_by_stranger.status_code == on(t.name, glance=200, localcloud=404)


def test_tasks_need_admin(image_target: ImagesTarget) -> None:
    """A customer without the admin role lists tasks on Rackspace only."""
    t = image_target

    resp = t.http.get(t.api("/v2/tasks"), headers=t.owner.headers)

    assert resp.status_code == on(t.name, glance=403, localcloud=200)


def test_task_types(image_target: ImagesTarget) -> None:
    """The task schema offers ``export`` on Rackspace and the newer import types on Glance."""
    t = image_target

    resp = t.http.get(t.api("/v2/schemas/task"), headers=t.owner.headers)

    assert resp.status_code == 200
    assert sorted(resp.json()["properties"]["type"]["enum"]) == on(
        t.name,
        glance=["api_image_import", "import", "location_import"],
        localcloud=["export", "import"],
    )


def test_error_body(image_target: ImagesTarget) -> None:
    """Errors are JSON on request; otherwise HTML on Glance and plain text on Rackspace."""
    t = image_target
    url = t.api("/v2/images/00000000-0000-4000-8000-000000000000")
    plain = {k: v for k, v in t.owner.headers.items() if k != "Accept"}

    as_json = t.http.get(url, headers=t.owner.headers)
    as_default = t.http.get(url, headers=plain)

    assert (as_json.status_code, as_default.status_code) == (404, 404)
    assert as_json.json()["code"] == "404 Not Found"
    assert as_json.json()["title"] == "Not Found"
    assert "No image found" in as_json.json()["message"]
    media = as_default.headers["content-type"].split(";")[0]
    assert media == on(t.name, glance="text/html", localcloud="text/plain")


def test_member_body_media_type(image_target: ImagesTarget) -> None:
    """A member POST sent as text/plain is accepted by Glance and a 415 on Rackspace."""
    t = image_target
    image = t.make_image(t.owner, unique())
    headers = {**t.owner.headers, "Content-Type": "text/plain"}
    body = f'{{"member": "{t.consumer.tenant}"}}'

    resp = t.http.post(t.api(f"/v2/images/{image}/members"), headers=headers, content=body)

    assert resp.status_code == on(t.name, glance=200, localcloud=415)


def test_sort_parameter(image_target: ImagesTarget) -> None:
    """``sort=name:asc`` sorts on Glance and is an (unmatched) property filter on Rackspace."""
    t = image_target
    mark = unique("batch")
    ids = [t.make_image(t.owner, name, x_batch=mark) for name in ("b-image", "a-image")]

    listed = t.listing(t.owner, sort="name:asc", x_batch=mark)

    assert listed == on(t.name, glance=ids[::-1], localcloud=[])


def test_disk_format_enum(image_target: ImagesTarget) -> None:
    """Glance 33's image schema adds ``vhdx`` and ``ploop`` to Juno's disk formats."""
    t = image_target

    enum = t.http.get(t.api("/v2/schemas/image"), headers=t.owner.headers).json()["properties"][
        "disk_format"
    ]["enum"]

    assert ({"vhdx", "ploop"} <= set(enum)) is on(t.name, glance=True, localcloud=False)
    assert {"ami", "ari", "aki", "vhd", "vmdk", "raw", "qcow2", "vdi", "iso"} <= set(enum)
