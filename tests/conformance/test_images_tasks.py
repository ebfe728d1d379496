"""Import tasks as both services share them: create, follow, list, and no DELETE.

Every test runs against a real Glance 33 (legacy import from its allowed file server, with
the admin role Glance requires: see ``tasks-need-admin``) and against the local cloud
(import of a VHD from the owner's Cloud Files).
"""

from __future__ import annotations

import jsonschema
from images_fixtures import *  # noqa: F403 - registers image_target and its servers
from images_targets import ImagesTarget, unique


def test_create_import_task_is_201_pending(image_target: ImagesTarget) -> None:
    """POST answers 201 with the task pending, its input echoed and a self link."""
    t = image_target
    name = unique("task")

    resp = t.start_import(name)

    assert resp.status_code == 201
    task = resp.json()
    assert task["type"] == "import"
    assert task["status"] in ("pending", "processing")
    assert task["input"]["image_properties"]["name"] == name
    assert task["owner"] == t.owner.tenant
    assert task["self"] == f"/v2/tasks/{task['id']}"
    assert resp.headers["location"].endswith(f"/v2/tasks/{task['id']}")
    t.finish_task(task["id"])


def test_import_task_succeeds_with_an_active_image(image_target: ImagesTarget) -> None:
    """A good import ends in success; result.image_id is an active image with that name."""
    t = image_target
    name = unique("task")
    created = t.start_import(name).json()

    task = t.finish_task(created["id"])

    assert task["status"] == "success", task
    assert task["expires_at"].endswith("Z")
    image = t.image(t.owner, task["result"]["image_id"])
    assert (image["name"], image["status"]) == (name, "active")


def test_task_documents_validate(image_target: ImagesTarget) -> None:
    """A finished task and the task list validate against the served task/tasks schemas."""
    t = image_target
    task = t.finish_task(t.start_import(unique("task")).json()["id"])
    listing = t.http.get(t.api("/v2/tasks"), headers=t.task_account.headers)
    schemas = {
        n: t.http.get(t.api(f"/v2/schemas/{n}"), headers=t.owner.headers).json()
        for n in ("task", "tasks")
    }

    assert listing.status_code == 200
    jsonschema.validate(task, schemas["task"])
    jsonschema.validate(listing.json(), schemas["tasks"])


def test_task_list_entries_are_sparse(image_target: ImagesTarget) -> None:
    """The task list shows the caller's task without input, result or message."""
    t = image_target
    task = t.finish_task(t.start_import(unique("task")).json()["id"])

    resp = t.http.get(t.api("/v2/tasks"), headers=t.task_account.headers, params={"limit": 1000})

    assert resp.status_code == 200
    (entry,) = [e for e in resp.json()["tasks"] if e["id"] == task["id"]]
    assert entry["status"] == "success"
    assert not {"input", "result", "message"} & set(entry)
    assert resp.json()["schema"] == "/v2/schemas/tasks"


def test_tasks_cannot_be_deleted(image_target: ImagesTarget) -> None:
    """DELETE of a task is 405: tasks expire on their own."""
    t = image_target
    task = t.finish_task(t.start_import(unique("task")).json()["id"])

    resp = t.http.delete(t.api(f"/v2/tasks/{task['id']}"), headers=t.task_account.headers)

    assert resp.status_code == 405


def test_task_without_input_is_400(image_target: ImagesTarget) -> None:
    """A task body without ``input`` is a 400."""
    t = image_target

    resp = t.http.post(t.api("/v2/tasks"), headers=t.task_account.headers, json={"type": "import"})

    assert resp.status_code == 400
