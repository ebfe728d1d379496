"""Turn a staged VHD into an image exactly once, shared by import and replicate.

Before staging anything, look for an import task of the same object and name
(a crashed run may have started it): a pending or processing one is waited for,
a successful one is adopted. Otherwise stage the VHD (resumable), create the
task and wait. Rackspace reports error 396 intermittently; then the task is
created again, as openstacksdk does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prefect import get_run_logger

from ..blocks import CloudImagesAccount
from ..client import Task
from ..client.objects import UploadResult
from ..errors import TaskFailed
from ..tasks.images import find_task, image_exists, start_import_task, wait_for_task

#: Attempts in all when the task keeps failing with the intermittent code 396.
MAX_IMPORT_ATTEMPTS = 3
INTERMITTENT_CODE = "396"


@dataclass
class ImportOutcome:
    image_id: str
    task_id: str
    attempts: int  # import tasks this run created
    staged: UploadResult | None  # None: an earlier run's task was adopted


def import_once(
    account: CloudImagesAccount,
    region: str,
    *,
    container: str,
    obj: str,
    name: str,
    deadline: float,
    stage: Callable[[], UploadResult],
) -> ImportOutcome:
    """The image of ``container/obj`` named ``name``: adopted, or staged and imported."""
    earlier = _reusable_task(account, region, container=container, obj=obj, name=name)
    staged: UploadResult | None = None
    attempts = 0
    if earlier is not None:
        task = earlier
    else:
        staged = stage()
        task = start_import_task(account, region, container=container, obj=obj, name=name)
        attempts = 1
    while True:
        try:
            done = wait_for_task(account, region, task.id, deadline=deadline)
        except TaskFailed as err:
            if err.code != INTERMITTENT_CODE or attempts >= MAX_IMPORT_ATTEMPTS:
                raise
            get_run_logger().warning(
                "Import task %s failed with the intermittent error 396; creating it again", task.id
            )
            task = start_import_task(account, region, container=container, obj=obj, name=name)
            attempts += 1
            continue
        assert done.image_id is not None, "a successful import task names its image"
        return ImportOutcome(done.image_id, done.id, attempts, staged)


def _reusable_task(
    account: CloudImagesAccount, region: str, *, container: str, obj: str, name: str
) -> Task | None:
    match = {"import_from": f"{container}/{obj}", "image_properties": {"name": name}}
    task = find_task(account, region, task_type="import", match=match)
    if task is None or task.status == "failure":
        return None
    gone = task.image_id is None or not image_exists(account, region, task.image_id)
    if task.status == "success" and gone:
        return None  # its image was deleted since: import again
    get_run_logger().info("Resuming with earlier import task %s (%s)", task.id, task.status)
    return task
