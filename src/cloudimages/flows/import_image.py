"""The ``import-image`` flow: a disk image file or URL becomes a verified image.

Runbook: fetch and hash the source → inspect and check it → if an image with
this source sha256 and name exists already, stop (skipped) → convert to VHD
when needed → upload to the staging container as a resumable SLO named after
the sha256 → import task (or adopt the one an earlier run started) → wait →
set properties, provenance and tags → verify → delete the staging object.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

from prefect import flow, get_run_logger

from ..blocks import CloudImagesAccount, load_account
from ..client import Image
from ..client.objects import UploadResult
from ..tasks.diskimages import convert_to_vhd, inspect_disk_image
from ..tasks.images import SOURCE_NAME, SOURCE_SHA256, find_image, update_image, verify_image
from ..tasks.storage import (
    Source,
    delete_staging_object,
    fetch_source,
    is_url,
    upload_to_staging,
    work_dir,
)
from ._importing import import_once
from ._publish import check_property_names, publish
from .reports import ImportReport, Stopwatch

__all__ = ["import_image"]

MiB = 1024 * 1024
EVENT = "cloudimages.image.imported"


@flow(
    name="import-image",
    description="Import a local disk image or an http(s) URL as a verified Cloud Images image.",
)
def import_image(  # noqa: PLR0917 (the flow signature is the CLI contract)
    source: str,
    account: str,
    name: str,
    region: str | None = None,
    container: str = "cloudimages-staging",
    properties: dict[str, str] | None = None,
    tags: list[str] | None = None,
    segment_size_mb: int = 64,
    keep_staging: bool = False,
    task_timeout_minutes: float = 360,
) -> ImportReport:
    """Import a disk image; a rerun after any failure finishes the job without duplicates.

    Args:
        source: A local path or an http(s) URL of a disk image (qcow2, raw, VHD, VMDK…).
        account: Name of the Cloud Images Account block to import into.
        name: Name of the new image.
        region: Region to import into; empty: the block's region.
        container: Cloud Files container to stage the VHD in.
        properties: Extra image properties (domain-style keys, e.g. com.example.role).
        tags: Tags to add to the image.
        segment_size_mb: Size of the upload's segments, in MiB.
        keep_staging: Keep the staged VHD after the import (default: delete it).
        task_timeout_minutes: How long to wait for the import task.
    """
    logger = get_run_logger()
    watch = Stopwatch()
    check_property_names(properties or {})
    block = load_account(account)
    where = (region or block.effective_region).upper()
    work = work_dir()
    with watch.step("fetch"):
        src = fetch_source(source, work)
    with watch.step("inspect"):
        disk = inspect_disk_image(src.path)
    provenance = {SOURCE_SHA256: src.sha256, SOURCE_NAME: _source_name(source)}
    wanted = {**(properties or {}), **provenance}
    staging = f"{src.sha256}.vhd"

    def report(image: Image, **fields: object) -> ImportReport:
        return ImportReport.model_validate(
            {
                "image_id": image.id,
                "name": name,
                "account": account,
                "region": where,
                "source": source,
                "sha256": src.sha256,
                "size": src.size,
                "virtual_size": image.virtual_size or disk.virtual_size,
                "checksum": image.checksum,
                "staging_object": f"{container}/{staging}",
                "properties": wanted,
                "tags": list(tags or []),
                "duration_seconds": watch.elapsed,
                "steps": watch.steps,
                **fields,
            }
        )

    with watch.step("find-existing"):
        existing = find_image(block, where, properties={SOURCE_SHA256: src.sha256}, name=name)
    if existing is not None:
        logger.info("Image %s already holds this source; nothing to import", existing.id)
        _clean_up(
            block,
            region=where,
            container=container,
            staging=staging,
            src=src,
            work=work,
            keep_staging=keep_staging,
        )
        done = report(existing, skipped=True)
        _publish(done)
        return done

    def stage() -> UploadResult:
        with watch.step("convert"):
            vhd = convert_to_vhd(disk, work, stem=src.sha256)
        with watch.step("upload"):
            return upload_to_staging(
                block, where, vhd.path, container, staging, segment_size=segment_size_mb * MiB
            )

    with watch.step("import"):
        outcome = import_once(
            block,
            where,
            container=container,
            obj=staging,
            name=name,
            deadline=time.time() + task_timeout_minutes * 60,
            stage=stage,
        )
    with watch.step("tag-and-verify"):
        update_image(block, where, outcome.image_id, properties=wanted, tags=tags or [])
        image = verify_image(block, where, outcome.image_id, name=name, properties=wanted)
    with watch.step("clean-up"):
        _clean_up(
            block,
            region=where,
            container=container,
            staging=staging,
            src=src,
            work=work,
            keep_staging=keep_staging,
        )
    staged = outcome.staged
    done = report(
        image,
        skipped=False,
        converted=not disk.is_importable_vhd,
        uploaded_size=staged.size if staged else 0,
        uploaded_segments=staged.segments_uploaded if staged else 0,
        skipped_segments=staged.segments_skipped if staged else 0,
        task_id=outcome.task_id,
        import_attempts=outcome.attempts,
    )
    logger.info("Imported %s as image %s (%r) in %s", source, image.id, name, where)
    _publish(done)
    return done


def _source_name(source: str) -> str:
    if is_url(source):
        return Path(unquote(urlsplit(source).path)).name or source
    return Path(source).name


def _clean_up(
    block: CloudImagesAccount,
    *,
    region: str,
    container: str,
    staging: str,
    src: Source,
    work: Path,
    keep_staging: bool,
) -> None:
    """Delete the staged VHD (unless kept) and this run's work files (never the source)."""
    if not keep_staging:
        delete_staging_object(block, region, container, staging)
    (work / f"{src.sha256}.vhd").unlink(missing_ok=True)
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
