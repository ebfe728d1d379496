"""The changing half of a sync: sources fetched once, then every target in parallel.

Runbook: for each version some target must create, fetch its source once
(hash a file, download a URL, export and download an image), refuse it unless
its sha256 is the spec's, inspect and convert it once, all before anything is
uploaded anywhere → per image × target, in parallel under the per-account
limit, run the row's operations in order (create: the import sequence every
pipeline shares; then fields, members, retirement), emitting an event per
change and stopping the row at its first failure → delete each version's
staged upload in the target (a run killed after its image was made leaves
one) → delete the local work files of sources whose targets all succeeded.
"""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger
from pydantic import BaseModel

from ..client import ImportLimits
from ..params import SyncRequest
from ..syncspec.report import PlanRow
from .catalog import SOURCE_ACCOUNT, SOURCE_IMAGE, SOURCE_NAME, SOURCE_REGION, SOURCE_SHA256
from .sources import source_name, work_dir
from .sync_plan import SyncPlan
from .sync_rows import RowWork, apply_row
from .sync_sources import Prepared, fetch_image, fetch_verified, prepare_disk

__all__ = ["apply_sync", "prepare_sources"]


class _Source(BaseModel):
    """One version's source, fetched and ready, and the provenance its copies record."""

    prepared: Prepared
    provenance: dict[str, str]


def prepare_sources(plan: SyncPlan, request: SyncRequest) -> dict[int, _Source]:
    """Fetch, verify, inspect and convert each source some target must create, once."""
    needed: dict[int, list[ImportLimits]] = {}
    for row in plan.rows:
        for op in row.ops:
            if op.kind == "create":
                index = _index(plan, row.image, op.version)
                needed.setdefault(index, []).append(plan.target(row))
    return {index: _prepare(plan, index, limits, request) for index, limits in needed.items()}


def _index(plan: SyncPlan, name: str, version: str) -> int:
    images = plan.spec_file.spec.images
    return next(i for i, im in enumerate(images) if (im.name, im.version) == (name, version))


def _prepare(
    plan: SyncPlan, index: int, limits: list[ImportLimits], request: SyncRequest
) -> _Source:
    spec_file = plan.spec_file
    image = spec_file.spec.images[index]
    expected = plan.contents[index].removeprefix("sha256:")
    expected_sha = expected if plan.contents[index].startswith("sha256:") else None
    where = spec_file.where("images", index, "source")
    provenance: dict[str, str] = {}
    if image.source.image is not None:
        origin = plan.origins[index]
        path, sha, size, files = fetch_image(
            origin,
            expected=expected_sha,
            where=where,
            container=request.export_container,
            timeout=request.task_timeout_minutes,
        )
        name = f"{origin.image_id}.vhd"
        provenance = {
            SOURCE_IMAGE: origin.image_id,
            SOURCE_ACCOUNT: origin.tenant_id,
            SOURCE_REGION: origin.region,
        }
    else:
        given = image.source.url or spec_file.file_source(image)
        path, sha, size, files = fetch_verified(
            given,
            expected=expected_sha,
            where=where,
            max_size=request.max_download_size,
            stall_timeout=request.download_stall_seconds,
        )
        name = source_name(given)
    prepared = prepare_disk(path, sha, size, files, name=name, limits=_strictest(limits))
    provenance |= {SOURCE_SHA256: sha, SOURCE_NAME: name}
    return _Source(prepared=prepared, provenance=provenance)


def _strictest(limits: list[ImportLimits]) -> ImportLimits:
    """Limits every one of the targets meets: the smallest of each size."""

    def least(values: list[int | None]) -> int | None:
        known = [v for v in values if v is not None]
        return min(known) if known else None

    return ImportLimits(
        max_virtual_size=least([lim.max_virtual_size for lim in limits]),
        max_file_size=least([lim.max_file_size for lim in limits]),
        disk_formats=limits[0].disk_formats,
    )


def apply_sync(plan: SyncPlan, sources: dict[int, _Source], request: SyncRequest) -> list[PlanRow]:
    """Run every row's operations, rows in parallel; the rows with each operation's status."""
    spec = plan.spec_file.spec
    futures = []
    for row in plan.rows:
        target = plan.target(row)
        wanted = plan.wanted[(row.account, row.region)].get(row.image, [])
        indexes = {w.version: _index(plan, row.image, w.version) for w in wanted}
        work = RowWork(
            catalog=spec.catalog,
            prune=request.prune,
            delete_only=request.delete_only,
            staging_container=request.staging_container,
            segment_size=request.segment_size,
            task_timeout_minutes=request.task_timeout_minutes,
            max_per_account=request.max_per_account,
            target=target,
            wanted={w.version: w for w in wanted},
            prepared={v: sources[i].prepared for v, i in indexes.items() if i in sources},
            provenance={v: sources[i].provenance for v, i in indexes.items() if i in sources},
        )
        futures.append(apply_row.submit(row, work))
    done = [future.result() for future in futures]
    _clean_work_files(plan, sources, done)
    return done


def _clean_work_files(plan: SyncPlan, sources: dict[int, _Source], rows: list[PlanRow]) -> None:
    """Delete a source's downloads and conversions once no row of it failed."""
    failed = {(row.image, op.version) for row in rows for op in row.failed()}
    images = plan.spec_file.spec.images
    for index, source in sources.items():
        if (images[index].name, images[index].version) in failed:
            continue
        converted = work_dir().glob(f"{source.prepared.sha256}.*")  # one per target format
        for path in [*source.prepared.work_files, *converted]:
            Path(path).unlink(missing_ok=True)
    get_run_logger().info("Deleted the work files of %d source(s)", len(sources))
