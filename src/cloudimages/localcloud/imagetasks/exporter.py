"""Export: an image the caller owns becomes a DLO in one of their containers.

The stored disk is re-written by qemu-img into a fresh dynamic VHD (same
content, new bytes), cut into ``<uuid>.vhd-00001``, ``-00002``, … segments of
``export_segment_size`` bytes, and announced by a zero-byte manifest
``<uuid>.vhd`` written last, so the manifest exists only for a whole export.

qemu-img writes into the object store's own temporary directory, and its
output is read once for the segments' md5s: the segments after the first are
copied out in that same read, then the file, cut to the first segment's
length, becomes the first segment's blob by a rename (a single-segment export
copies nothing).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from io import BufferedIOBase
from pathlib import Path
from typing import Any

from cloudimages import diskimage
from cloudimages.errors import QemuImgError

from ..images.store import ImageRecord
from ..images.views import can_see
from ..objects.store import ObjectRecord
from .engine import Job, TaskFailure
from .files import read_range

QEMU_FORMATS = {"vhd": "vpc", "raw": "raw", "qcow2": "qcow2", "vmdk": "vmdk", "vdi": "vdi"}
LICENSE_KEY = "com.rackspace__1__options"
SEGMENT_TYPE = "application/octet-stream"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_BAD_CONTAINER_CHARS = ("/", "?", ".")


def invalid_input(why: str) -> TaskFailure:
    return TaskFailure(f"Invalid input for export task: {why}")


class Exporter:
    """The ``export`` task type."""

    def check_input(self, task_input: dict[str, Any]) -> None:
        image_id = task_input.get("image_uuid")
        if not isinstance(image_id, str) or not _UUID.match(image_id):
            raise invalid_input(f"'image_uuid' must be an image id (a UUID), not {image_id!r}.")
        container = task_input.get("receiving_swift_container")
        if not isinstance(container, str) or not container:
            raise invalid_input("'receiving_swift_container' must be a container name.")
        if any(c in container for c in _BAD_CONTAINER_CHARS):
            raise invalid_input(
                f"the container name {container!r} must not contain '/', '?' or '.'."
            )

    def run(self, job: Job) -> dict[str, Any]:
        image_id, container = job.input["image_uuid"], job.input["receiving_swift_container"]
        record = _exportable_image(job, image_id)
        manifest = f"{image_id}.vhd"
        _check_target(job, container, manifest)
        fresh = job.objects.blobs.tmp_dir / uuid.uuid4().hex
        try:
            _convert(job, record, fresh)
            job.note("export", {"container": container, "objects": []})
            _write_segments(job, container, manifest, fresh)
        finally:
            fresh.unlink(missing_ok=True)
        job.linger()
        _write_manifest(job, container, manifest)
        return {"export_location": f"{container}/{manifest}"}

    def undo(self, job: Job) -> None:
        written = job.noted("export")
        if written is None:
            return
        for name in written["objects"]:
            job.objects.delete_object(job.account.storage_account, written["container"], name)

    def forced_failure(self, code: object, message: str | None) -> str:
        return message or f"Image cannot be exported. Error code: '{code}'"


RUNNER = Exporter()


def _exportable_image(job: Job, image_id: str) -> ImageRecord:
    """The image, if the caller owns it, its license allows export and it has bytes."""
    tenant = job.account.tenant_id
    record = job.images.get_image(image_id)
    if record is None or not can_see(job.images, record, tenant):
        raise TaskFailure(f"Image {image_id} was not found in region {job.region}.")
    if record.owner != tenant:
        raise TaskFailure(
            f"Image {image_id} is not owned by tenant {tenant}; only your own images can be"
            " exported. Boot a server from it, snapshot the server, and export the snapshot."
        )
    options = record.doc.get(LICENSE_KEY)
    if options is not None and str(options) != "0":
        raise TaskFailure(
            f"Image {image_id} cannot be exported: its license ({LICENSE_KEY}={options!r})"
            " does not allow export."
        )
    status = record.doc.get("status")
    if status != "active" or record.blob is None:
        raise TaskFailure(f"Image {image_id} is {status}; only active images can be exported.")
    if record.doc.get("disk_format") not in QEMU_FORMATS:
        raise TaskFailure(
            f"Image {image_id} has disk format {record.doc.get('disk_format')!r}, which cannot"
            " be converted to VHD."
        )
    return record


def _check_target(job: Job, container: str, manifest: str) -> None:
    account = job.account.storage_account
    if job.objects.get_container(account, container) is None:
        raise TaskFailure(
            f"Container '{container}' was not found in your Cloud Files account in region"
            f" {job.region}. Create it first."
        )
    if job.objects.get_object(account, container, manifest) is not None:
        raise TaskFailure(
            f"Swift already has an object with id '{manifest}' in container '{container}'"
        )
    if next(job.objects.iter_prefix(account, container, f"{manifest}-"), None) is not None:
        raise TaskFailure(
            f"Swift already has segments named '{manifest}-*' in container '{container}';"
            " delete them and export again."
        )


def _convert(job: Job, record: ImageRecord, target: Path) -> None:
    assert record.blob is not None
    fmt = QEMU_FORMATS[str(record.doc["disk_format"])]
    try:
        diskimage.convert(
            job.blobs.path(record.blob),
            target,
            src_fmt=fmt,
            dst_fmt="vpc",
            vhd_subformat="dynamic",
            flush=False,  # the local cloud never fsyncs its blobs; the next step reads it back
        )
    except QemuImgError as err:
        raise TaskFailure(f"Image {record.id} could not be converted to VHD: {err}") from err
    job.checkpoint()


def _write_segments(job: Job, container: str, manifest: str, source: Path) -> None:
    """Cut ``source`` into numbered segment objects, noting each before it is written.

    ``source`` must be in the object store's temporary directory: it becomes
    the first segment's blob.
    """
    size = job.settings.export_segment_size
    total = source.stat().st_size
    spans = [(offset, min(size, total - offset)) for offset in range(0, max(total, 1), size)]
    names = [f"{manifest}-{index:05d}" for index in range(1, len(spans) + 1)]
    with source.open("r+b") as f:
        first_etag = _md5_range(job, f, 0, spans[0][1])
        for name, span in zip(names[1:], spans[1:], strict=True):
            _note_object(job, name)
            _put_segment(job, container, name, f, span)
        f.truncate(spans[0][1])
    _note_object(job, names[0])
    _adopt_segment(job, container, names[0], source, first_etag)


def _note_object(job: Job, name: str) -> None:
    export = job.noted("export")
    export["objects"].append(name)
    job.note("export", export)


def _md5_range(job: Job, source: BufferedIOBase, offset: int, length: int) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    for chunk in read_range(source, offset, length, job.checkpoint):
        digest.update(chunk)
    return digest.hexdigest()


def _put_segment(
    job: Job, container: str, name: str, source: BufferedIOBase, span: tuple[int, int]
) -> None:
    """Copy one (offset, length) span of ``source`` into a new segment object, hashing it."""
    writer = job.objects.blobs.writer()
    try:
        for chunk in read_range(source, *span, job.checkpoint):
            writer.write(chunk)  # type: ignore[arg-type]  # a memoryview writes like bytes
    except BaseException:
        writer.abort()
        raise
    blob = writer.commit()
    now = time.time()
    record = ObjectRecord(container, name, blob, writer.size, writer.etag, SEGMENT_TYPE, now)
    job.objects.put_object(job.account.storage_account, record)


def _adopt_segment(job: Job, container: str, name: str, source: Path, etag: str) -> None:
    """Make the file ``source`` itself the blob of segment ``name``: a rename, no copy."""
    blob = uuid.uuid4().hex
    length = source.stat().st_size
    os.replace(source, job.objects.blobs.path(blob))
    record = ObjectRecord(container, name, blob, length, etag, SEGMENT_TYPE, time.time())
    job.objects.put_object(job.account.storage_account, record)


def _write_manifest(job: Job, container: str, manifest: str) -> None:
    _note_object(job, manifest)
    blob, etag, size = job.objects.blobs.write_bytes(b"")
    meta = {"x-object-manifest": f"{container}/{manifest}-"}
    record = ObjectRecord(container, manifest, blob, size, etag, SEGMENT_TYPE, time.time(), meta)
    job.objects.put_object(job.account.storage_account, record)
