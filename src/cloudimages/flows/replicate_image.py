"""The ``replicate-image`` flow: one image to many accounts and regions.

Runbook: load the source and target blocks and decide each target's mode
(share: same region, other account; copy: another region, or as asked) →
skip targets that have the image already → copy mode: export the source once
into a source-side container → per target, in parallel under a per-account
limit: share (add member + accept) or copy (stream the export into the target
as an SLO → import → verify → provenance) → delete the export.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.concurrency.sync import concurrency
from prefect.task_runners import ThreadPoolTaskRunner

from ..blocks import CloudImagesAccount, load_account
from ..client import Image
from ..errors import CloudImagesError, ConfigurationError
from ..tasks.images import (
    SOURCE_ACCOUNT,
    SOURCE_IMAGE,
    SOURCE_REGION,
    SOURCE_SHA256,
    find_image,
    get_image,
    update_image,
    verify_image,
)
from ..tasks.storage import copy_object_across, delete_staging_object
from ._importing import import_once
from ._publish import publish
from .export_image import export_once
from .reports import ReplicateReport, Stopwatch, TargetResult
from .share_image import share_with, tenant_of

__all__ = ["TargetPlan", "replicate_image"]

EVENT = "cloudimages.image.replicated"
EXPORT_CONTAINER = "cloudimages-replicate"
STAGING_CONTAINER = "cloudimages-staging"
TASK_TIMEOUT = 6 * 3600.0
MAX_WORKERS = 8
Mode = Literal["auto", "share", "copy"]

_SLOTS: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_SLOTS_LOCK = threading.Lock()


@dataclass(frozen=True)
class Origin:
    """The image being replicated, and where it lives."""

    block: CloudImagesAccount
    region: str
    tenant_id: str
    image: Image

    @property
    def provenance(self) -> dict[str, str]:
        """The properties that mark a copy of this image (and find it on a rerun)."""
        return {
            SOURCE_IMAGE: self.image.id,
            SOURCE_ACCOUNT: self.tenant_id,
            SOURCE_REGION: self.region,
        }


@dataclass(frozen=True)
class TargetPlan:
    """One target: its block, region and the mode chosen for it."""

    name: str
    block: CloudImagesAccount
    region: str
    tenant_id: str
    mode: Literal["share", "copy"]


def plan_target(origin: Origin, name: str, mode: Mode) -> TargetPlan:
    """Load a target's block and choose share or copy; refuse impossible targets."""
    block = load_account(name)
    region = block.effective_region
    tenant = tenant_of(block)
    same_account, same_region = tenant == origin.tenant_id, region == origin.region
    if same_account and same_region:
        msg = (
            f"replicating to the same account: {name!r} logs in as tenant {tenant} in"
            f" {region}, where image {origin.image.id} is already. Name another account or"
            " a block whose region differs."
        )
        raise ConfigurationError(msg)
    if mode == "share" and not same_region:
        msg = (
            f"cannot share image {origin.image.id} with {name!r}: sharing only works within a"
            f" region ({origin.region} vs {region}); use mode 'copy' or 'auto'."
        )
        raise ConfigurationError(msg)
    chosen: Literal["share", "copy"] = "share" if mode != "copy" and same_region else "copy"
    return TargetPlan(name=name, block=block, region=region, tenant_id=tenant, mode=chosen)


@contextmanager
def account_slot(block_name: str, limit: int) -> Iterator[None]:
    """At most ``limit`` targets of one account at once, in this process and server-wide.

    The in-process semaphore works without any server setup; the Prefect global
    concurrency limit ``cloudimages-account-<block>`` (if an admin created one)
    also bounds other flow runs.
    """
    with _SLOTS_LOCK:
        slot = _SLOTS.setdefault((block_name, limit), threading.BoundedSemaphore(limit))
    with slot, concurrency(f"cloudimages-account-{block_name}", occupy=1, strict=False):
        yield


def _share(origin: Origin, plan: TargetPlan) -> tuple[str, bool]:
    member = share_with(origin.block, origin.region, origin.image.id, plan.block, accept=True)
    return origin.image.id, member.skipped


def _copy(origin: Origin, plan: TargetPlan, export_name: str) -> tuple[str, bool]:
    image = origin.image
    staging = f"replica-{origin.region.lower()}-{image.id}.vhd"
    name = image.name or image.id
    wanted = dict(origin.provenance)
    sha = image.properties.get(SOURCE_SHA256)
    if isinstance(sha, str):
        wanted[SOURCE_SHA256] = sha
    outcome = import_once(
        plan.block,
        plan.region,
        container=STAGING_CONTAINER,
        obj=staging,
        name=name,
        deadline=time.time() + TASK_TIMEOUT,
        stage=lambda: copy_object_across(
            origin.block,
            origin.region,
            plan.block,
            plan.region,
            container=EXPORT_CONTAINER,
            name=export_name,
            dst_container=STAGING_CONTAINER,
            dst_name=staging,
        ),
    )
    update_image(plan.block, plan.region, outcome.image_id, properties=wanted)
    verify_image(plan.block, plan.region, outcome.image_id, name=name, properties=wanted)
    delete_staging_object(plan.block, plan.region, STAGING_CONTAINER, staging)
    return outcome.image_id, False


@task(name="replicate-to-target", cache_policy=NO_CACHE, persist_result=False)
def replicate_to_target(
    origin: Origin, plan: TargetPlan, export_name: str, max_per_account: int
) -> TargetResult:
    """Share with, or copy to, one target (its steps are tasks with their own retries)."""
    began = time.monotonic()
    with account_slot(plan.name, max_per_account):
        if plan.mode == "share":
            image_id, skipped = _share(origin, plan)
        else:
            image_id, skipped = _copy(origin, plan, export_name)
    status: Literal["shared", "copied", "skipped"] = (
        "skipped" if skipped else ("shared" if plan.mode == "share" else "copied")
    )
    done = "has it already" if skipped else f"{status} as {image_id}"
    return TargetResult(
        account=plan.name,
        region=plan.region,
        mode=plan.mode,
        image_id=image_id,
        skipped=skipped,
        status=status,
        message=f"{plan.name} ({plan.region}) {done}",
        duration_seconds=round(time.monotonic() - began, 3),
    )


def _existing_copy(origin: Origin, plan: TargetPlan) -> TargetResult | None:
    found = find_image(plan.block, plan.region, properties=origin.provenance, owned=False)
    if found is None:
        return None
    return TargetResult(
        account=plan.name,
        region=plan.region,
        mode="copy",
        image_id=found.id,
        skipped=True,
        status="skipped",
        message=f"{plan.name} ({plan.region}) has a copy already: {found.id}",
        duration_seconds=0.0,
    )


def _failed(plan: TargetPlan, error: BaseException) -> TargetResult:
    return TargetResult(
        account=plan.name,
        region=plan.region,
        mode=plan.mode,
        image_id=None,
        skipped=False,
        status="failed",
        message=f"{type(error).__name__}: {error}",
        duration_seconds=0.0,
    )


@flow(
    name="replicate-image",
    description="Replicate an image to other accounts and regions: share or copy, in parallel.",
    task_runner=ThreadPoolTaskRunner(max_workers=MAX_WORKERS),  # type: ignore[arg-type]  # invariant generic in prefect
)
def replicate_image(  # noqa: PLR0917 (the flow signature is the CLI contract)
    image_id: str,
    source: str,
    targets: list[str],
    mode: Mode = "auto",
    source_region: str | None = None,
    max_per_account: int = 2,
) -> ReplicateReport:
    """Replicate an image; a rerun skips every target that has it already.

    Args:
        image_id: The image to replicate (the source account must own it).
        source: Name of the Cloud Images Account block that owns the image.
        targets: Names of the target blocks; each block's region is the target region.
        mode: share (same region only), copy (export, copy, import) or auto (share when
            the region is the same, copy otherwise).
        source_region: Region of the image; empty: the source block's region.
        max_per_account: Most targets of one account worked on at once.
    """
    logger = get_run_logger()
    watch = Stopwatch()
    if max_per_account < 1:
        msg = f"max_per_account must be at least 1, not {max_per_account}"
        raise ConfigurationError(msg)
    src = load_account(source)
    region = (source_region or src.effective_region).upper()
    origin = Origin(src, region, tenant_of(src), get_image(src, region, image_id))
    plans = [plan_target(origin, name, mode) for name in dict.fromkeys(targets)]
    results: dict[str, TargetResult] = {}
    for plan in plans:
        found = _existing_copy(origin, plan) if plan.mode == "copy" else None
        if found is not None:
            results[plan.name] = found
    to_copy = [p for p in plans if p.mode == "copy" and p.name not in results]
    export_skipped: bool | None = None
    export_name = f"{image_id}.vhd"
    if to_copy:
        deadline = time.time() + TASK_TIMEOUT
        exported = export_once(src, region, image_id, EXPORT_CONTAINER, deadline=deadline)
        export_skipped, export_name = exported.skipped, exported.exported.object
    pending = [p for p in plans if p.name not in results]
    futures = {
        p.name: replicate_to_target.submit(origin, p, export_name, max_per_account) for p in pending
    }
    errors: list[BaseException] = []
    for plan in pending:
        outcome = futures[plan.name].result(raise_on_failure=False)
        if isinstance(outcome, TargetResult):
            results[plan.name] = outcome
        else:
            error = outcome if isinstance(outcome, BaseException) else CloudImagesError(outcome)
            errors.append(error)
            results[plan.name] = _failed(plan, error)
            logger.error("Replication to %s failed: %s", plan.name, error)
    if to_copy and not errors:
        delete_staging_object(src, region, EXPORT_CONTAINER, export_name)
    report = ReplicateReport(
        image_id=image_id,
        source=source,
        source_region=region,
        targets=[results[p.name] for p in plans],
        export_skipped=export_skipped,
        duration_seconds=watch.elapsed,
    )
    publish(
        report,
        key="cloudimages-replicate",
        markdown=report.to_markdown(),
        event=EVENT,
        image_id=image_id,
        table=report.table_rows(),
    )
    if errors:
        raise errors[0]
    return report
