"""The ``import-image`` flow: a disk image file or URL becomes a verified image.

Runbook: check the request against the target (name, properties) → sweep work
files of dead runs → fetch and hash the source → inspect it (and check its
sizes against the target's limits) → if an image with this source sha256 and
name exists already, stop (skipped) → convert to VHD when needed → stage it as
a resumable upload named after the sha256 → import (or adopt the import an
earlier run started) → wait → set properties, provenance and tags → verify →
delete the staged upload.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from prefect import flow, get_run_logger

from ..client import Image, ImportLimits, Staging
from ..client.objects import UploadResult
from ..errors import CloudImagesError, TaskFailed
from ..params import ImportRequest
from ..reports import ImportReport, Stopwatch
from ..steps.catalog import (
    SOURCE_NAME,
    SOURCE_SHA256,
    check_image_fields,
    find_image,
    import_limits,
    update_image,
    verify_image,
)
from ..steps.clouds import account_region
from ..steps.diskimages import (
    DiskImage,
    check_fits,
    convert_disk_image,
    import_format,
    inspect_disk_image,
    needs_conversion,
)
from ..steps.sequences import ImportOutcome, deadline_after, import_once
from ..steps.sources import Source, fetch_source, source_name, sweep_work_dir, work_dir
from ..steps.transfers import discard_staged, stage_image
from ._by_url import import_by_url
from ._publish import publish, with_note

__all__ = ["import_image"]

EVENT = "cloudimages.image.imported"


@dataclass
class _Run:
    """One import: what was asked, where it goes, and what the steps found so far."""

    request: ImportRequest
    region: str
    limits: ImportLimits
    watch: Stopwatch = field(default_factory=Stopwatch)

    @property
    def where(self) -> str:
        return f"{self.request.account} ({self.region})"

    def wanted(self, src: Source) -> dict[str, str]:
        """The properties the image must end with: the user's and its provenance."""
        marks = {SOURCE_SHA256: src.sha256, SOURCE_NAME: source_name(self.request.source)}
        return {**self.request.properties, **marks}


@flow(
    name="import-image",
    description="Import a local disk image or an http(s) URL as a verified image.",
)
def import_image(request: ImportRequest) -> ImportReport:
    """Import a disk image; a rerun after any failure finishes the job without duplicates.

    Args:
        request: The source (a path or an http(s) URL), the account block and the
            image's name, and how to import it.
    """
    region = account_region(request.account, request.region)
    run = _Run(request, region, import_limits(request.account, region))
    check_image_fields(
        run.limits, name=request.name, properties=request.properties, where=run.where
    )
    if request.web_download:
        done = import_by_url(request, region=region, limits=run.limits, watch=run.watch)
    else:
        done = _import_file(run)
    _publish(done)
    return done


def _import_file(run: _Run) -> ImportReport:
    """Fetch, inspect, find or import, finish, clean up: the runbook of a file or URL."""
    request, region = run.request, run.region
    src, disk = _fetch_and_inspect(run)
    disk_format = import_format(disk, run.limits.disk_formats, request.disk_format)
    staging = Staging(container=request.container, name=f"{src.sha256}.{disk_format}")
    with run.watch.step("find-existing"):
        marks = {SOURCE_SHA256: src.sha256}
        existing = find_image(request.account, region, properties=marks, name=request.name)
    if existing is not None:
        get_run_logger().info("Image %s already holds this source; nothing to import", existing.id)
        _clean_up(request, region=region, staging=staging, src=src)
        return _report(run, src, disk, existing, staging, skipped=True)
    outcome = _import(run, src, disk, staging, disk_format)
    with run.watch.step("tag-and-verify"), _telling_image_is_kept(outcome.image_id, staging):
        image = _finish(run, src, outcome.image_id)
    with run.watch.step("clean-up"):
        _clean_up(request, region=region, staging=staging, src=src)
    get_run_logger().info(
        "Imported %s as image %s (%r) in %s", request.source, image.id, request.name, region
    )
    staged = outcome.staged
    return _report(
        run,
        src,
        disk,
        image,
        staging,
        skipped=False,
        converted=needs_conversion(disk, disk_format),
        disk_format=disk_format,
        uploaded_size=staged.size if staged else 0,
        uploaded_segments=staged.segments_uploaded if staged else 0,
        skipped_segments=staged.segments_skipped if staged else 0,
        task_id=outcome.task_id,
        import_attempts=outcome.created,
        replaced_tasks=outcome.replaced,
    )


def _fetch_and_inspect(run: _Run) -> tuple[Source, DiskImage]:
    """The source here with its sha256, and through the safe format gate."""
    request = run.request
    work = work_dir()
    sweep_work_dir(work)
    with run.watch.step("fetch"):
        src = fetch_source(
            request.source,
            work,
            max_size=request.max_download_size,
            stall_timeout=request.download_stall_seconds,
        )
    with run.watch.step("inspect"):
        claimed = _qemu(request.source_format)
        disk = inspect_disk_image(src.path, limits=run.limits, claimed_format=claimed)
    return src, disk


def _import(
    run: _Run, src: Source, disk: DiskImage, staging: Staging, disk_format: str
) -> ImportOutcome:
    """Convert and stage (unless an earlier run's import is adopted), import, wait."""
    request, region = run.request, run.region

    def stage() -> UploadResult:
        with run.watch.step("convert"):
            converted = convert_disk_image(disk, disk_format, work_dir(), stem=src.sha256)
            check_fits(converted, run.limits, where=run.where)
        with run.watch.step("upload"):
            return stage_image(
                request.account,
                region,
                converted.path,
                staging,
                name=request.name,
                disk_format=disk_format,
                segment_size=request.segment_size,
            )

    with run.watch.step("import"), _telling_what_is_left(request, region, staging):
        return import_once(
            request.account,
            region,
            staging=staging,
            name=request.name,
            deadline=deadline_after(request.task_timeout_minutes),
            stage=stage,
            replace_stuck=request.replace_stuck_task,
        )


def _finish(run: _Run, src: Source, image_id: str) -> Image:
    """Set the properties (provenance included) and tags, and check the image has them."""
    request, wanted = run.request, run.wanted(src)
    update_image(request.account, run.region, image_id, properties=wanted, tags=request.tags)
    return verify_image(request.account, run.region, image_id, name=request.name, properties=wanted)


def _report(
    run: _Run, src: Source, disk: DiskImage, image: Image, staging: Staging, **fields: object
) -> ImportReport:
    return ImportReport.model_validate(
        {
            "image_id": image.id,
            "name": run.request.name,
            "account": run.request.account,
            "region": run.region,
            "source": run.request.source,
            "sha256": src.sha256,
            "size": src.size,
            "virtual_size": image.virtual_size or disk.virtual_size,
            "checksum": image.checksum,
            "staging_object": str(staging),
            "properties": run.wanted(src),
            "tags": run.request.tags,
            "duration_seconds": run.watch.elapsed,
            "steps": run.watch.steps,
            **fields,
        }
    )


@contextmanager
def _telling_what_is_left(request: ImportRequest, region: str, staging: Staging) -> Iterator[None]:
    """A failed import deletes an upload the service refused; other failures keep it."""
    try:
        yield
    except TaskFailed as error:
        if request.keep_staging:
            with_note(error, f"The staged upload {staging} is kept (--keep-staging).")
            raise
        discard_staged(request.account, region, staging)
        with_note(error, f"The staged upload {staging} was deleted.")
        raise
    except CloudImagesError as error:
        note = (
            f"The staged upload {staging} in {region} (if it was made) is kept: a rerun"
            " resumes from it, and deletes it once the image is made."
        )
        with_note(error, note)
        raise


@contextmanager
def _telling_image_is_kept(image_id: str, staging: Staging) -> Iterator[None]:
    try:
        yield
    except CloudImagesError as error:
        note = (
            f"Image {image_id} was made but not finished (properties, tags or checks): it is"
            f" kept, with the staged upload {staging}, and a rerun finishes it."
        )
        with_note(error, note)
        raise


def _qemu(fmt: str | None) -> str | None:
    """qemu-img's name for a format the user gave in Glance's words (``vhd`` is ``vpc``)."""
    return "vpc" if fmt == "vhd" else fmt


def _clean_up(request: ImportRequest, *, region: str, staging: Staging, src: Source) -> None:
    """Delete the staged upload (unless kept) and this run's work files (never the source)."""
    if not request.keep_staging:
        discard_staged(request.account, region, staging)
    (work_dir() / staging.name).unlink(missing_ok=True)
    if src.downloaded:
        src.path.unlink(missing_ok=True)


def _publish(done: ImportReport) -> None:
    publish(
        done,
        key="cloudimages-import",
        markdown=done.to_markdown(),
        event=EVENT,
        image_id=done.image_id,
    )
