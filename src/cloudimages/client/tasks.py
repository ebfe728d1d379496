"""Import/export tasks: create them at most once, wait for them, explain failures.

``POST /tasks`` is not idempotent: replaying it after a lost answer would start
a second import of the same file. So after a failure that may have reached the
service, ``create_task`` lists the account's tasks (newest first) and returns
one with the same type and input created since the attempt began; only if there
is none does it try again.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import TaskFailed, TaskTimedOut
from ._http import call_with_retries, read
from .models import Task

if TYPE_CHECKING:
    from .images import ImagesClient

__all__ = ["TASK_ERROR_HINTS", "create_task", "find_task", "task_failed", "wait_for_task"]

#: Task ``created_at`` has whole seconds and the service's clock is not ours.
CLOCK_SLACK = timedelta(seconds=5)

#: What Rackspace's documented import failure codes mean, and what to do.
TASK_ERROR_HINTS = {
    "111": "The VHD did not validate; check it with `qemu-img check`.",
    "396": "The file is not a valid VHD. Rackspace also reports this intermittently; "
    "creating the same task again may work.",
    "413": "The disk's virtual size is over the import limit.",
    "523": "Only fixed or dynamic VHDs can be imported; convert it with qemu-img.",
    "609": "The file is larger than the import limit.",
    "614": "The VHD's unique id is all zeros; convert the disk again to get a fresh one.",
    "721": "The VHD has a parent disk; coalesce it into a standalone VHD first.",
}


def create_task(client: ImagesClient, body: dict[str, Any]) -> Task:
    """``POST /tasks`` once, or return the task a failed attempt created after all."""
    started = datetime.now(UTC)
    url = client.url("/tasks")

    def attempt() -> Task:
        answer = client.session.request("POST", url, json=body, retry=False)
        return read(answer, Task)

    def recover() -> Task | None:
        return find_task(client, body, since=started - CLOCK_SLACK)

    what = f"create {body['type']} task"
    return call_with_retries(attempt, policy=client.session.retry, what=what, recover=recover)


def find_task(client: ImagesClient, body: dict[str, Any], *, since: datetime) -> Task | None:
    """The newest task of this type and input created at or after ``since``, if any."""
    for listed in client.list_tasks(sort_key="created_at", sort_dir="desc"):
        if listed.created_at is not None and listed.created_at < since:
            return None
        if listed.type != body["type"]:
            continue
        task = client.get_task(listed.id)
        echoed = task.input or {}
        if all(echoed.get(key) == value for key, value in body["input"].items()):
            return task
    return None


def task_failed(task: Task) -> TaskFailed:
    """The error for a task that ended in ``failure``, with Rackspace's code explained."""
    code = task.error_code
    said = task.reason or "the service gave no reason"
    msg = f"{task.type.capitalize()} task {task.id} failed{_subject(task)}: {said}"
    if code in TASK_ERROR_HINTS:
        msg += f" (code {code}: {TASK_ERROR_HINTS[code]})"
    return TaskFailed(msg, task_id=task.id, code=code)


def _subject(task: Task) -> str:
    given = task.input or {}
    if task.type == "import" and "import_from" in given:
        return f" importing {given['import_from']!r}"
    if task.type == "export" and "image_uuid" in given:
        container = given.get("receiving_swift_container")
        return f" exporting image {given['image_uuid']} to container {container!r}"
    return ""


def wait_for_task(
    client: ImagesClient,
    task_id: str,
    *,
    timeout: float,
    poll_interval: float,
    backoff: float = 1.0,
    max_interval: float = 300.0,
) -> Task:
    """Poll a task until it succeeds; raise ``TaskFailed`` or ``TaskTimedOut``.

    The interval starts at ``poll_interval`` and is multiplied by ``backoff``
    after each poll, up to ``max_interval`` (Rackspace asks for no more than one
    poll every 30 s on the real service). A poll is made at the deadline.
    """
    if timeout < 0 or poll_interval < 0 or backoff < 1:
        msg = "timeout and poll_interval must be >= 0 and backoff >= 1"
        raise ValueError(msg)
    deadline = time.monotonic() + timeout
    interval = poll_interval
    while True:
        task = client.get_task(task_id)
        if task.status == "success":
            return task
        if task.status == "failure":
            raise task_failed(task)
        left = deadline - time.monotonic()
        if left <= 0:
            msg = (
                f"{task.type.capitalize()} task {task_id} is still {task.status} after "
                f"{timeout:g} s; wait longer (a large image can take an hour) or check "
                "it later with get_task."
            )
            raise TaskTimedOut(msg, task_id=task_id, status=task.status)
        time.sleep(min(interval, left))
        interval = min(interval * backoff, max(max_interval, poll_interval))
