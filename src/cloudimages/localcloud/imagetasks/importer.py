"""Import: a VHD in the caller's Cloud Files becomes a private, active image.

The source (a plain object, an SLO or a DLO) is staged as one file (a hard
link when one blob holds it, else its pieces joined by the kernel), the
safety gate reads it before qemu-img may (an upload that names other files,
such as a qcow2 data file '/etc/passwd', must not pull this server's files
into an image), its VHD footer is checked the way Rackspace documents its
failure codes, and the disk is re-packed by one qemu-img convert into a new
blob: a new VHD identity, so the image's checksum is not the upload's md5, as
on Rackspace. The checksum is then one read of that blob; nothing else
copies or reads the image's bytes.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from cloudimages import diskimage
from cloudimages.errors import (
    DiskImageError,
    DiskImageTooLarge,
    QemuImgError,
    UnsafeDiskImage,
    UnsupportedDiskFormat,
)

from ..images.store import ImageRecord, now_iso
from ..objects.http import SwiftError
from ..objects.largeobjects import Resolved, resolve
from ..objects.store import ObjectStore
from .engine import Job, TaskFailure
from .files import SourceRemoved, md5_of, stage

NOT_FOUND = "Error: Image not found for import. Possible invalid location"
_FOOTER_SIZE = 512
_VHD_COOKIE = b"conectix"


def import_error(code: str, why: str) -> TaskFailure:
    """Rackspace's coded failure (the openstacksdk constant), then what went wrong."""
    return TaskFailure(f"Image cannot be imported. Error code: '{code}'. {why}")


def invalid_input(why: str) -> TaskFailure:
    return TaskFailure(f"Invalid input for import task: {why}")


class OwnAccountReader:
    """Resolves large objects, allowing only segments in the caller's own account."""

    def __init__(self, store: ObjectStore, account: str) -> None:
        self.store = store
        self.account = account

    def require(self, need: str, container: str | None = None, account: str | None = None) -> None:
        if account not in (None, self.account):
            raise SwiftError(403, "Segments must be in your own Cloud Files account.")


class Importer:
    """The ``import`` task type."""

    def check_input(self, task_input: dict[str, Any]) -> None:
        split_location(task_input.get("import_from"))
        props = task_input.get("image_properties")
        if not isinstance(props, dict):
            raise invalid_input('\'image_properties\' must be an object such as {"name": "..."}.')
        extra = sorted(set(props) - {"name"})
        if extra:
            raise invalid_input(
                f"'image_properties' may only contain 'name', not {', '.join(map(repr, extra))}."
                " Set other properties with PATCH once the image is active."
            )
        if "name" in props and not isinstance(props["name"], str):
            raise invalid_input("'image_properties.name' must be a string.")
        fmt = task_input.get("import_from_format", "vhd")
        if fmt != "vhd":
            raise invalid_input(f"'import_from_format' must be 'vhd', not {fmt!r}.")

    def run(self, job: Job) -> dict[str, Any]:
        container, name = split_location(job.input["import_from"])
        source = _resolve_source(job, container, name)
        limit = job.settings.import_size_limit
        if source.length > limit:
            raise import_error("609", f"The file is {source.length} bytes; the limit is {limit}.")
        staged = job.temp_file(".vhd")
        try:
            _stage(job, source, staged)
            gate_vhd(staged, limit, name=f"{container}/{name}")
            virtual_size = validate_vhd(staged, limit)
            image_id = _create_image(job, job.input["image_properties"].get("name", name))
            blob_id, checksum, size = _repack(job, staged, image_id)
        finally:
            staged.unlink(missing_ok=True)
        job.linger()
        _activate(job, image_id, blob_id, checksum=checksum, size=size, virtual_size=virtual_size)
        return {"image_id": image_id}

    def undo(self, job: Job) -> None:
        image_id = job.noted("image_id")
        if image_id is not None:
            job.images.delete_image(image_id)
        job.blobs.delete(job.noted("blob_id"))

    def forced_failure(self, code: object, message: str | None) -> str:
        return message or f"Image cannot be imported. Error code: '{code}'"


RUNNER = Importer()


def split_location(location: Any) -> tuple[str, str]:
    """``container/object`` (the object may hold ``/``) in the caller's Cloud Files."""
    if not isinstance(location, str) or not location:
        raise invalid_input("'import_from' must be a string '<container>/<object>'.")
    container, _, name = location.partition("/")
    if "://" in location or not container or not name:
        raise TaskFailure(
            f"{NOT_FOUND}: {location!r} is not '<container>/<object>' in your Cloud Files"
            " account of this region (no leading slash, account or URL)."
        )
    return container, name


def _resolve_source(job: Job, container: str, name: str) -> Resolved:
    account = job.account.storage_account
    where = f"object {name!r} in container {container!r} of region {job.region}"
    record = job.objects.get_object(account, container, name)
    if record is None:
        raise TaskFailure(f"{NOT_FOUND}: there is no {where}.")
    try:
        return resolve(OwnAccountReader(job.objects, account), account, record)
    except SwiftError as err:
        raise TaskFailure(f"{NOT_FOUND}: the large {where} cannot be read: {err}.") from err


def _stage(job: Job, source: Resolved, target: Path) -> None:
    """Give the object's bytes one file of their own, copying only what must be joined."""
    try:
        stage(job.objects.blobs, source.pieces, target, job.checkpoint)
    except SourceRemoved as err:
        raise TaskFailure(f"{NOT_FOUND}: the object was removed while reading.") from err


def gate_vhd(path: Path, limit: int, *, name: str) -> None:
    """Run the safety gate on the staged bytes, before qemu-img touches them.

    Its refusals become Rackspace's codes: 413 and 609 for the limits, 721
    for a parent disk, 523 for a VHD of an unknown kind, 396 (not a VHD) for
    anything else, with the gate's explanation after the code.
    """
    try:
        diskimage.inspect_image(
            path, claimed_format="vhd", max_virtual_size=limit, max_file_size=limit, name=name
        )
    except DiskImageTooLarge as err:
        raise import_error("413" if err.measure == "virtual" else "609", str(err)) from err
    except UnsafeDiskImage as err:
        raise import_error("721" if err.format == "vpc" else "396", str(err)) from err
    except UnsupportedDiskFormat as err:
        raise import_error("523" if err.format == "vpc" else "396", str(err)) from err
    except DiskImageError as err:
        raise import_error("396", str(err)) from err


def validate_vhd(path: Path, limit: int) -> int:
    """Check a VHD the way Rackspace's import does; returns its virtual size."""
    if not _ends_with_footer(path):
        raise import_error(
            "396", "The file does not end with a VHD footer: it is not a VHD, or it was cut short."
        )
    try:
        footer = diskimage.detect_vhd(path)
    except DiskImageError as err:
        raise import_error("523", f"Only fixed or dynamic VHDs can be imported. {err}") from err
    assert footer is not None  # the footer at the end was just seen
    if footer.disk_type == "differencing":
        raise import_error("721", "The VHD has a parent disk; coalesce it into one VHD first.")
    if footer.unique_id.int == 0:
        raise import_error("614", "The VHD's unique id is all zeros.")
    if footer.current_size > limit:
        raise import_error("413", f"Its virtual size {footer.current_size} exceeds {limit}.")
    if not footer.checksum_ok:
        raise import_error("111", "The VHD footer checksum is wrong.")
    try:
        info = diskimage.info(path, fmt="vpc")
    except QemuImgError as err:
        raise import_error("111", f"The VHD cannot be read: {err}") from err
    if info.virtual_size > limit:
        raise import_error("413", f"Its virtual size {info.virtual_size} exceeds {limit}.")
    return info.virtual_size


def _ends_with_footer(path: Path) -> bool:
    size = path.stat().st_size
    if size < _FOOTER_SIZE:
        return False
    with path.open("rb") as f:
        f.seek(size - _FOOTER_SIZE)
        return f.read(len(_VHD_COOKIE)) == _VHD_COOKIE


def _create_image(job: Job, name: str) -> str:
    """Register the image as ``queued``, then ``saving`` while its bytes are made."""
    image_id = str(uuid.uuid4())
    job.note("image_id", image_id)
    now = now_iso()
    doc: dict[str, Any] = {
        "id": image_id,
        "name": name,
        "status": "queued",
        "visibility": "private",
        "protected": False,
        "checksum": None,
        "owner": job.account.tenant_id,
        "size": None,
        "virtual_size": None,
        "container_format": "ovf",
        "disk_format": "vhd",
        "created_at": now,
        "updated_at": now,
        "tags": [],
        "min_disk": 0,
        "min_ram": 0,
    }
    job.images.put_image(ImageRecord(doc, None))
    job.checkpoint()
    doc.update(status="saving", updated_at=now_iso())
    job.images.put_image(ImageRecord(doc, None))
    return image_id


def _repack(job: Job, source: Path, image_id: str) -> tuple[str, str, int]:
    """qemu-img re-writes the VHD into a new blob: (blob id, md5, size).

    No flush to disk: the local cloud never fsyncs its blobs, and the md5 pass
    reads the output back from the page cache at once.
    """
    blob_id = uuid.uuid4().hex
    job.note("blob_id", blob_id)
    staged = job.blobs.tmp_dir / f"{blob_id}.vhd"
    try:
        diskimage.convert(
            source, staged, src_fmt="vpc", dst_fmt="vpc", vhd_subformat="dynamic", flush=False
        )
        checksum, size = md5_of(staged, job.checkpoint)
        os.replace(staged, job.blobs.path(blob_id))
    except QemuImgError as err:
        raise import_error("111", f"The VHD cannot be read: {err}") from err
    finally:
        staged.unlink(missing_ok=True)
    return blob_id, checksum, size


def _activate(
    job: Job, image_id: str, blob_id: str, *, checksum: str, size: int, virtual_size: int
) -> None:
    record = job.images.get_image(image_id)
    if record is None:
        raise TaskFailure(f"Image {image_id} was deleted while it was being imported.")
    record.doc.update(
        status="active",
        checksum=checksum,
        size=size,
        virtual_size=virtual_size,
        updated_at=now_iso(),
    )
    job.images.put_image(ImageRecord(record.doc, blob_id))
