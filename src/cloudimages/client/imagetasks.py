"""Import/export tasks: create them at most once, wait for them, explain failures.

``POST /tasks`` is not idempotent: replaying it after a lost answer would start
a second import of the same file. So after a failure that may have reached the
service, ``create_task`` lists the account's tasks (newest first) and returns
one with the same type and input created since the attempt began; only if there
is none does it try again.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .. import progress
from ..errors import CloudImagesError, TaskFailed, TaskTimedOut
from ._http import call_with_retries, read
from .models import Task
from .retry import is_transient

if TYPE_CHECKING:
    from .images import ImagesClient

__all__ = ["TASK_ERROR_HINTS", "create_task", "find_task", "task_failed", "wait_for_task"]

log = logging.getLogger("cloudimages.client")

#: Polls in a row that may fail transiently before a wait gives up early.
MAX_MISSED_POLLS = 10
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
    max_missed_polls: int = MAX_MISSED_POLLS,
) -> Task:
    """Poll a task until it succeeds; raise ``TaskFailed`` or ``TaskTimedOut``.

    The interval starts at ``poll_interval`` and is multiplied by ``backoff``
    after each poll, up to ``max_interval`` (Rackspace asks for no more than one
    poll every 30 s on the real service). A poll is made at the deadline.
    Each poll is one request, not retried: a transient failure is a missed poll,
    and only ``max_missed_polls`` missed in a row end the wait early (this loop
    is where the retry policy puts polling failures).
    """
    if timeout < 0 or poll_interval < 0 or backoff < 1:
        msg = "timeout and poll_interval must be >= 0 and backoff >= 1"
        raise ValueError(msg)
    deadline = time.monotonic() + timeout
    interval = poll_interval
    missed = 0
    while True:
        task = _poll(client, task_id, missed=missed, most=max_missed_polls)
        missed = 0 if task is not None else missed + 1
        if task is not None:
            progress.report_status(task.status)  # to the phase the waiting step opened
        if task is not None and task.status == "success":
            return task
        if task is not None and task.status == "failure":
            raise task_failed(task)
        left = deadline - time.monotonic()
        if left <= 0:
            raise _timed_out(task_id, task, timeout)
        time.sleep(min(interval, left))
        interval = min(interval * backoff, max(max_interval, poll_interval))


def _poll(client: ImagesClient, task_id: str, *, missed: int, most: int) -> Task | None:
    """One GET of the task; None for a transient failure while misses are allowed."""
    url = client.url(f"/tasks/{quote(task_id, safe='')}")
    try:
        return read(client.session.request("GET", url, retry=False), Task)
    except CloudImagesError as error:
        if not is_transient(error) or missed + 1 >= most:
            raise
        log.warning("poll %d of task %s failed (%s); polling on", missed + 1, task_id, error)
        return None


def _timed_out(task_id: str, task: Task | None, timeout: float) -> TaskTimedOut:
    status = task.status if task is not None else "unknown"
    kind = f"{task.type.capitalize()} task" if task is not None else "Task"
    msg = (
        f"{kind} {task_id} is still {status} after {timeout:g} s. A large image can take an"
        " hour; a task that never moves is stuck on the service side."
    )
    return TaskTimedOut(msg, task_id=task_id, status=status)
