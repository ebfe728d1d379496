"""Step sequences several flows share: import once, export once, share with.

Each sequence first looks for what an earlier run did (an import task next to
the staged bytes, a verified export, a member), so rerunning a flow after any
failure finishes the job without duplicates.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..client import Exported, Staging
from ..client.objects import UploadResult
from .catalog import get_image, member_id
from .exports import find_export, start_export, verify_export, wait_export
from .sharing import Membership, accept_image, add_image_member
from .transfers import abandon_import, find_import, start_import, wait_import

__all__ = [
    "ExportOutcome",
    "ImportOutcome",
    "deadline_after",
    "export_once",
    "import_once",
    "share_with",
]

UNFINISHED = ("pending", "processing")


def deadline_after(minutes: float) -> float:
    """A wall-clock deadline (``time.time()``), kept by every step that waits for one job."""
    return time.time() + minutes * 60


@dataclass
class ImportOutcome:
    """The image a staged upload became, and what this run did to get there."""

    image_id: str
    task_id: str
    created: int  # import tasks this run created
    staged: UploadResult | None  # None: an earlier run's task was adopted
    replaced: list[str] = field(default_factory=list)  # stuck tasks given up on


def import_once(
    account: str,
    region: str,
    *,
    staging: Staging,
    name: str,
    deadline: float,
    stage: Callable[[], UploadResult],
    replace_stuck: bool = False,
) -> ImportOutcome:
    """The image of ``staging`` named ``name``: adopted, or staged and imported.

    An earlier run's unfinished task is waited for, unless ``replace_stuck``:
    then a fresh task is started on the same staged bytes.
    """
    earlier = find_import(account, region, staging, name=name)
    replaced: list[str] = []
    if earlier is not None and replace_stuck and earlier.status in UNFINISHED:
        abandon_import(account, region, earlier, staging)
        replaced = [earlier.task_id]
        earlier = None
    staged: UploadResult | None = None
    if earlier is None:
        staged = stage()
        job = start_import(account, region, staging, name=name)
    else:
        job = earlier
    done = wait_import(account, region, job, staging, name=name, deadline=deadline)
    assert done.image_id is not None, "a finished import names its image"
    return ImportOutcome(done.image_id, done.task_id, done.created, staged, replaced)


@dataclass
class ExportOutcome:
    """A verified export, and whether an earlier run had made it already."""

    exported: Exported
    skipped: bool
    task_id: str | None


def export_once(
    account: str, region: str, image_id: str, container: str, *, deadline: float
) -> ExportOutcome:
    """A verified export of the image in ``container``: found, waited for, or made."""
    get_image(account, region, image_id)  # NotFound, with the id, before anything is created
    found = find_export(account, region, image_id, container)
    if found is not None:
        return ExportOutcome(found, skipped=True, task_id=None)
    job = start_export(account, region, image_id, container)
    wait_export(account, region, job, image_id, container, deadline=deadline)
    exported = verify_export(account, region, image_id, container)
    return ExportOutcome(exported, skipped=False, task_id=job.task_id)


def share_with(
    owner: str, region: str, image_id: str, consumer: str, *, accept: bool
) -> Membership:
    """Make ``consumer`` a member of the image, and accept for it when asked."""
    added = add_image_member(owner, region, image_id, member_id(consumer, region))
    if not accept:
        return added
    accepted = accept_image(consumer, region, image_id)
    return accepted.model_copy(update={"skipped": added.skipped and accepted.skipped})
