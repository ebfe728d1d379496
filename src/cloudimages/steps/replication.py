"""Replicate one image to many accounts and regions: the sequence both replicate flows run.

Plan each target (share: same region, other account; copy: another region, or
as asked) → skip targets that have a copy already → copy mode: export the
source once → per target, in parallel under a per-account limit: share (add
member + accept) or copy (stream the export into the target's staging →
import → provenance → verify) → delete the export once every copy is made.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.concurrency.sync import concurrency

from ..client import Staging
from ..errors import CloudImagesError, ConfigurationError
from ..params import ReplicateRequest, account_limit_name
from ..reports import ReplicateReport, Stopwatch, TargetResult
from .catalog import (
    SOURCE_ACCOUNT,
    SOURCE_IMAGE,
    SOURCE_REGION,
    SOURCE_SHA256,
    find_image,
    get_image,
    image_service,
    member_id,
    update_image,
    verify_image,
)
from .clouds import account_region
from .copies import SourceBytes, copy_bytes, plan_copy
from .exports import discard_export, image_data
from .sequences import deadline_after, export_once, import_once, share_with
from .transfers import discard_staged

__all__ = ["Origin", "TargetPlan", "replicate"]

_SLOTS: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_SLOTS_LOCK = threading.Lock()


@dataclass(frozen=True)
class Origin:
    """The image being replicated, and where it lives."""

    account: str
    region: str
    tenant_id: str
    image_id: str
    name: str
    sha256: str | None
    service: str  # the image service's URL

    @property
    def provenance(self) -> dict[str, str]:
        """The properties that mark a copy of this image (and find it on a rerun)."""
        return {
            SOURCE_IMAGE: self.image_id,
            SOURCE_ACCOUNT: self.tenant_id,
            SOURCE_REGION: self.region,
        }


@dataclass(frozen=True)
class TargetPlan:
    """One target: its block, region and the mode chosen for it."""

    account: str
    region: str
    tenant_id: str
    mode: Literal["share", "copy"]


def plan_target(origin: Origin, account: str, mode: str) -> TargetPlan:
    """Choose share or copy for a target; refuse impossible targets.

    Sharing works only within one image service (a region of one cloud); any
    other target, another region or another cloud, gets a copy.
    """
    region = account_region(account)
    tenant = member_id(account, region)
    same_account = tenant == origin.tenant_id
    same_region = image_service(account, region) == origin.service
    if same_account and same_region:
        msg = (
            f"replicating to the same account: {account!r} logs in as tenant {tenant} in"
            f" {region}, where image {origin.image_id} is already. Name another account or"
            " a block whose region differs."
        )
        raise ConfigurationError(msg)
    if mode == "share" and not same_region:
        msg = (
            f"cannot share image {origin.image_id} with {account!r}: sharing only works within"
            f" a region ({origin.region} vs {region}); use mode 'copy' or 'auto'."
        )
        raise ConfigurationError(msg)
    chosen: Literal["share", "copy"] = "share" if mode != "copy" and same_region else "copy"
    return TargetPlan(account=account, region=region, tenant_id=tenant, mode=chosen)


@contextmanager
def account_slot(block_name: str, limit: int) -> Iterator[None]:
    """At most ``limit`` targets of one account at once, in this process and server-wide.

    The in-process semaphore works without any server setup; the Prefect global
    concurrency limit ``cloudimages-account-<block>`` (if an admin created one)
    also bounds other flow runs.
    """
    with _SLOTS_LOCK:
        slot = _SLOTS.setdefault((block_name, limit), threading.BoundedSemaphore(limit))
    with slot, concurrency(account_limit_name(block_name), occupy=1, strict=False):
        yield


def _copy(
    origin: Origin, plan: TargetPlan, request: ReplicateRequest, source: SourceBytes | None
) -> tuple[str, str | None]:
    assert source is not None, "copy targets are planned only with the source's bytes"
    how = plan_copy(source, plan.account, plan.region)
    staging = Staging(
        container=request.staging_container,
        name=f"replica-{origin.region.lower()}-{origin.image_id}.{how.disk_format}",
    )
    wanted = dict(origin.provenance)
    if origin.sha256:
        wanted[SOURCE_SHA256] = origin.sha256
    outcome = import_once(
        plan.account,
        plan.region,
        staging=staging,
        name=origin.name,
        deadline=deadline_after(request.task_timeout_minutes),
        stage=lambda: copy_bytes(
            source,
            how,
            account=plan.account,
            region=plan.region,
            staging=staging,
            name=origin.name,
            segment_size=request.segment_size,
        ),
    )
    update_image(plan.account, plan.region, outcome.image_id, properties=wanted)
    verify_image(plan.account, plan.region, outcome.image_id, name=origin.name, properties=wanted)
    discard_staged(plan.account, plan.region, staging)
    return outcome.image_id, how.local_copy


@task(name="replicate-to-target", cache_policy=NO_CACHE, persist_result=False)
def replicate_to_target(
    origin: Origin, plan: TargetPlan, request: ReplicateRequest, source: SourceBytes | None
) -> TargetResult:
    """Share with, or copy to, one target (its steps are tasks of their own)."""
    began = time.monotonic()
    local_copy: str | None = None
    with account_slot(plan.account, request.max_per_account):
        if plan.mode == "share":
            member = share_with(
                origin.account, origin.region, origin.image_id, plan.account, accept=True
            )
            image_id, skipped = origin.image_id, member.skipped
        else:
            (image_id, local_copy), skipped = _copy(origin, plan, request, source), False
    status: Literal["shared", "copied", "skipped"] = (
        "skipped" if skipped else ("shared" if plan.mode == "share" else "copied")
    )
    done = "has it already" if skipped else f"{status} as {image_id}"
    result = _result(plan, image_id, status, f"{plan.account} ({plan.region}) {done}", began)
    return result.model_copy(update={"local_copy": local_copy})


def _result(
    plan: TargetPlan,
    image_id: str | None,
    status: Literal["shared", "copied", "skipped", "failed"],
    message: str,
    began: float | None = None,
) -> TargetResult:
    return TargetResult(
        account=plan.account,
        region=plan.region,
        mode=plan.mode,
        image_id=image_id,
        skipped=status == "skipped",
        status=status,
        message=message,
        duration_seconds=round(time.monotonic() - began, 3) if began is not None else 0.0,
    )


def _existing_copy(origin: Origin, plan: TargetPlan) -> TargetResult | None:
    found = find_image(plan.account, plan.region, properties=origin.provenance, owned=False)
    if found is None:
        return None
    plan = TargetPlan(plan.account, plan.region, plan.tenant_id, "copy")
    return _result(
        plan, found.id, "skipped", f"{plan.account} ({plan.region}) has a copy already: {found.id}"
    )


def replicate(request: ReplicateRequest) -> tuple[ReplicateReport, list[BaseException]]:
    """Replicate the image to every target; the report, and the errors of failed targets."""
    watch = Stopwatch()
    region = account_region(request.source, request.source_region)
    image = get_image(request.source, region, request.image_id)
    sha = image.properties.get(SOURCE_SHA256)
    origin = Origin(
        account=request.source,
        region=region,
        tenant_id=member_id(request.source, region),
        image_id=image.id,
        name=image.name or image.id,
        sha256=sha if isinstance(sha, str) else None,
        service=image_service(request.source, region),
    )
    plans = [plan_target(origin, name, request.mode) for name in dict.fromkeys(request.targets)]
    results: dict[str, TargetResult] = {}
    for plan in plans:
        found = _existing_copy(origin, plan) if plan.mode == "copy" else None
        if found is not None:
            results[plan.account] = found
    to_copy = [p for p in plans if p.mode == "copy" and p.account not in results]
    exported, source = None, None
    if to_copy:
        direct = image_data(request.source, region, image)
        if direct is None:
            deadline = deadline_after(request.task_timeout_minutes)
            exported = export_once(
                request.source, region, image.id, request.export_container, deadline=deadline
            )
        data = direct or exported.exported  # type: ignore[union-attr]  # one of them is set
        source = SourceBytes(request.source, region, data, stem=f"replica-{image.id}")
    pending = [p for p in plans if p.account not in results]
    futures = {p.account: replicate_to_target.submit(origin, p, request, source) for p in pending}
    errors: list[BaseException] = []
    for plan in pending:
        outcome = futures[plan.account].result(raise_on_failure=False)
        if isinstance(outcome, TargetResult):
            results[plan.account] = outcome
            continue
        error = outcome if isinstance(outcome, BaseException) else CloudImagesError(outcome)
        errors.append(error)
        results[plan.account] = _result(plan, None, "failed", f"{type(error).__name__}: {error}")
        get_run_logger().error("Replication to %s failed: %s", plan.account, error)
    if source is not None:
        source.clean_up()
    if exported is not None and not errors:
        discard_export(request.source, region, exported.exported)
    report = ReplicateReport(
        image_id=image.id,
        source=request.source,
        source_region=region,
        targets=[results[p.account] for p in plans],
        export_skipped=exported.skipped if exported is not None else None,
        duration_seconds=watch.elapsed,
    )
    return report, errors
