"""One image × target of a sync: its operations in order, under the account's limit.

A create is the import sequence every pipeline shares (``import_once``: adopt
what an earlier run started, else stage and import), then the version's fields,
provenance and tags, a verification and the staged upload's deletion. The
other operations are single catalogue calls that skip what is done already.
The row stops at its first failure; the rest is reported as not run, and a
rerun plans it again.
"""

from __future__ import annotations

import hashlib
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from ..client import Staging
from ..errors import CloudImagesError, TaskFailed
from ..syncspec.report import Op, PlanRow
from ..syncspec.state import WantedVersion
from .catalog import verify_image
from .diskimages import check_fits, convert_disk_image, import_format
from .replication import account_slot
from .sequences import deadline_after, import_once
from .sharing import accept_image, add_image_member
from .sources import work_dir
from .sync_changes import announce, delete_image, remove_image_member, update_fields
from .sync_sources import Prepared
from .sync_targets import CheckedTarget
from .transfers import discard_staged, stage_image

__all__ = ["RowWork", "apply_row", "staging_name"]


class RowWork(BaseModel):
    """What a row's operations need besides the row: the target, versions, sources, settings."""

    catalog: str
    prune: bool
    delete_only: list[str] | None
    staging_container: str
    segment_size: int
    task_timeout_minutes: float
    max_per_account: int
    target: CheckedTarget
    wanted: dict[str, WantedVersion]  # by version
    prepared: dict[str, Prepared]  # by version, for creates
    provenance: dict[str, dict[str, str]]  # by version, for creates


def staging_name(catalog: str, wanted: WantedVersion) -> str:
    """Where a version's bytes are staged in a target: the same name on every rerun."""
    key = f"{catalog}\n{wanted.name}\n{wanted.version}\n{wanted.content}".encode()
    return f"sync-{catalog}-{hashlib.sha256(key).hexdigest()[:32]}"


@task(name="sync-target", cache_policy=NO_CACHE, persist_result=False)
def apply_row(row: PlanRow, work: RowWork) -> PlanRow:
    """Run one row's operations (each a task of its own); the row with their statuses."""
    row = row.model_copy(deep=True)
    made: dict[str, str] = {}
    failed = False
    if row.changes(prune=work.prune):
        with account_slot(row.account, work.max_per_account):
            for op in row.ops:
                failed = _run(op, row, work, made, failed=failed)
    else:
        for op in row.ops:
            _run(op, row, work, made, failed=False)  # each is held back: only says why
    if not failed:
        _discard_staging(work, skip=set(made))
    return row


def _run(op: Op, row: PlanRow, work: RowWork, made: dict[str, str], *, failed: bool) -> bool:
    """Run one operation unless the row failed or it is not allowed; True once failed."""
    reason = _held_back(op, work, failed=failed)
    if reason is not None:
        op.status, op.message = ("not run" if failed else "skipped"), reason
        return failed
    image_id = op.image_id or made.get(op.version)
    try:
        image_id = _carry_out(op, image_id, work)
    except CloudImagesError as error:
        op.status, op.message = "failed", f"{type(error).__name__}: {error}"
        get_run_logger().error("%s %s in %s failed: %s", op.kind, row.image, row.target, error)
        return True
    op.status, op.image_id = "done", image_id
    if op.kind == "create":
        made[op.version] = image_id
        if op.version == row.version:
            row.image_id = image_id
    announce(op.kind, image_id, _payload(op, row, work))
    return False


def _held_back(op: Op, work: RowWork, *, failed: bool) -> str | None:
    if failed:
        return "an earlier operation of this row failed"
    if not op.runs(prune=work.prune):
        return "needs --prune"
    confirmed = work.delete_only
    if op.kind == "delete" and confirmed is not None and op.image_id not in confirmed:
        return "not among the confirmed deletions"
    return None


def _carry_out(op: Op, image_id: str | None, work: RowWork) -> str:
    account, region = work.target.account, work.target.region
    if op.kind == "create":
        return _create(op, work)
    assert image_id is not None, f"{op.kind} of {op.version} has no image"
    if op.kind in ("update", "hide"):
        update_fields(account, region, image_id, changes=op.changes, add_tags=op.add_tags)
    elif op.kind == "share":
        assert op.member_id is not None
        add_image_member(account, region, image_id, op.member_id)
    elif op.kind == "accept":
        assert op.consumer is not None
        accept_image(op.consumer, region, image_id)
    elif op.kind == "unshare":
        assert op.member_id is not None
        remove_image_member(account, region, image_id, op.member_id)
    else:
        delete_image(account, region, image_id)
    return image_id


def _create(op: Op, work: RowWork) -> str:
    """Import the version's prepared source (or adopt an earlier run's import), then finish it."""
    account, region = work.target.account, work.target.region
    wanted, prepared = work.wanted[op.version], work.prepared[op.version]
    fmt = import_format(prepared.disk, work.target.disk_formats)
    disk = convert_disk_image(prepared.disk, fmt, work_dir(), stem=prepared.sha256)
    check_fits(disk, work.target, where=f"{account} ({region})")
    staging = Staging(container=work.staging_container, name=staging_name(work.catalog, wanted))
    try:
        outcome = import_once(
            account,
            region,
            staging=staging,
            name=wanted.image_name,
            deadline=deadline_after(work.task_timeout_minutes),
            stage=lambda: stage_image(
                account,
                region,
                disk.path,
                staging,
                name=wanted.image_name,
                disk_format=fmt,
                segment_size=work.segment_size,
            ),
        )
    except TaskFailed:
        discard_staged(account, region, staging)  # the service refused these bytes
        raise
    properties = {**wanted.properties, **work.provenance[op.version]}
    sizes = {
        k: v
        for k, v in (("min_disk", wanted.min_disk), ("min_ram", wanted.min_ram))
        if v is not None
    }
    changes: dict[str, Any] = {**properties, **sizes}
    update_fields(account, region, outcome.image_id, changes=changes, add_tags=wanted.tags)
    verify_image(account, region, outcome.image_id, name=wanted.image_name, properties=properties)
    discard_staged(account, region, staging)
    return outcome.image_id


def _discard_staging(work: RowWork, *, skip: set[str]) -> None:
    """Delete each declared version's staged upload: a killed run may have left one."""
    for wanted in (w for v, w in work.wanted.items() if v not in skip):
        staging = Staging(container=work.staging_container, name=staging_name(work.catalog, wanted))
        discard_staged(work.target.account, work.target.region, staging)


def _payload(op: Op, row: PlanRow, work: RowWork) -> dict[str, Any]:
    return {
        "catalog": work.catalog,
        "image": row.image,
        "version": op.version,
        "account": row.account,
        "region": row.region,
        "image_id": op.image_id,
        "detail": op.detail,
    }
