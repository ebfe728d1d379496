"""The ``sync-images`` flow: golden images as code, kept as a spec declares them.

Runbook: read the spec (a path or URL) → check every target, consumer, name,
property and checksum file, and observe every target in parallel → plan each
image × target (``steps.sync_plan``). In plan mode: publish the plan, an event
per drifted row, and fail when asked to alert on drift. In apply mode: fetch,
verify, inspect and convert each needed source once → run every row's
operations in parallel under the per-account limits, an event per change
(``steps.sync_apply``) → publish the outcome; fail, after the report is
written, if any row failed (a rerun does only what is still left).
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.events import emit_event
from prefect.task_runners import ThreadPoolTaskRunner

from ..errors import CloudImagesError
from ..params import SyncRequest
from ..reports import Stopwatch
from ..steps.sync_apply import apply_sync, prepare_sources
from ..steps.sync_changes import announce
from ..steps.sync_plan import SyncPlan, plan_sync
from ..syncspec.report import PlanRow, SyncReport
from ._publish import with_report

__all__ = ["sync_images"]

ARTIFACT_KEY = "cloudimages-sync"
EVENT = "cloudimages.sync.finished"
MAX_WORKERS = 8


@flow(
    name="sync-images",
    description="Keep a declared catalogue of images present, identical, shared and fresh"
    " in every target account and region (plan: report drift; apply: fix it).",
    task_runner=ThreadPoolTaskRunner(max_workers=MAX_WORKERS),  # type: ignore[arg-type]  # invariant generic in prefect
)
def sync_images(request: SyncRequest) -> SyncReport:
    """Plan or apply a sync spec; a rerun after any failure does only what is left.

    Args:
        request: The spec's path or URL, plan or apply, and whether to prune.
    """
    watch = Stopwatch()
    plan = plan_sync(request)
    if request.mode == "plan":
        report = _report(plan, request, plan.rows, watch)
        _publish(report)
        _announce_drift(report)
        if request.fail_on_drift and report.has_changes:
            msg = (
                f"catalogue {report.catalog!r} has drifted: {report.changes} change(s) would"
                f" be made; see the {ARTIFACT_KEY!r} artifact, or run `cloudimages sync plan"
                f" {request.spec}`."
            )
            raise with_report(CloudImagesError(msg), report)
        return report
    sources = prepare_sources(plan, request)
    rows = apply_sync(plan, sources, request)
    report = _report(plan, request, rows, watch)
    _publish(report)
    if report.failed:
        failed = sorted({row.target for row in rows if row.failed()})
        msg = (
            f"{report.failed} operation(s) of the sync of {report.catalog!r} failed (in"
            f" {', '.join(failed)}); see the {ARTIFACT_KEY!r} artifact. Rerunning does only"
            " what is still left."
        )
        raise with_report(CloudImagesError(msg), report)
    get_run_logger().info("Catalogue %r: %d change(s) made", report.catalog, report.changes)
    return report


def _report(
    plan: SyncPlan, request: SyncRequest, rows: list[PlanRow], watch: Stopwatch
) -> SyncReport:
    if request.mode == "plan":
        changes = sum(len(row.changes(prune=request.prune)) for row in rows)
    else:
        changes = sum(1 for row in rows for op in row.ops if op.status == "done")
    return SyncReport(
        catalog=plan.spec_file.spec.catalog,
        spec=request.spec,
        mode=request.mode,
        prune=request.prune,
        rows=rows,
        changes=changes,
        failed=sum(len(row.failed()) for row in rows),
        duration_seconds=watch.elapsed,
    )


def _publish(report: SyncReport) -> None:
    """A markdown summary and a table (one row per image × target), and a summary event."""
    description = f"sync {report.mode} of {report.catalog!r}"
    create_markdown_artifact(
        markdown=report.to_markdown(), key=ARTIFACT_KEY, description=description
    )
    create_table_artifact(
        table=report.table_rows(), key=f"{ARTIFACT_KEY}-rows", description=description
    )
    emit_event(
        event=EVENT,
        resource={"prefect.resource.id": f"cloudimages.catalog.{report.catalog}"},
        payload={
            "mode": report.mode,
            "spec": report.spec,
            "changes": report.changes,
            "failed": report.failed,
        },
    )


def _announce_drift(report: SyncReport) -> None:
    """One ``cloudimages.sync.drift`` event per image × target that is not as declared."""
    for row in report.rows:
        if row.drift:
            payload = {
                "catalog": report.catalog,
                "image": row.image,
                "version": row.version,
                "account": row.account,
                "region": row.region,
                "drift": row.drift,
                "actions": row.actions(prune=report.prune),
            }
            announce("drift", row.image_id, payload)
