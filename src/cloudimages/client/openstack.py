"""The upstream OpenStack dialect of the cloud seam: Keystone v3, Glance v2 data calls, Swift.

Bytes get into an image without tasks: a ``queued`` record is created with the
name, the disk format and a ``cloudimages.staging`` property (the staged key, the
source's sha256), then the data is uploaded (``PUT /file``) or staged and imported
(``glance-direct``), chosen from ``GET /v2/info/import`` and the account's
setting. The record is how a rerun finds its earlier work: an ``active`` one is
done, an ``importing`` one is waited for, a ``queued`` one gets the data again.
Failed and abandoned records are deleted, so no half-made image stays. Image
bytes come out directly (``GET /file``); an export to a container is a copy of
them into Swift.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from functools import cached_property
from pathlib import Path
from typing import Literal

from ..errors import ChecksumMismatch, ConfigurationError, NotFound, TaskFailed, TaskTimedOut
from ._jobs import image_opener
from ._object_models import DownloadResult, UploadOptions, UploadResult
from ._openstack_data import digests_of, download_image, failed_import, same_image, upload_result
from ._rackspace_streams import open_export_stream
from ._segments import Progress
from .cloud import Cloud, Exported, ExportJob, ImageStream, ImportJob, ImportLimits, Staging
from .glance import GlanceData, Hashes
from .images import ImagesClient
from .keystone import KeystoneSession
from .models import Image
from .objects import ObjectsClient
from .retry import poll_schedule, retrying

__all__ = ["STAGING_KEY", "ImportMethod", "OpenStackCloud"]

log = logging.getLogger("cloudimages.client")

STAGING_KEY = "cloudimages.staging"
ImportMethod = Literal["auto", "upload", "glance-direct"]
#: Statuses of a record still on its way to ``active``.
UNDERWAY = ("saving", "uploading", "importing")


class OpenStackCloud:
    """One Keystone v3 project in one region: Glance v2 and Swift."""

    def __init__(
        self,
        session: KeystoneSession,
        region: str,
        *,
        import_method: ImportMethod = "auto",
        upload: UploadOptions | None = None,
    ) -> None:
        self.session = session
        self._region = region
        self._method = import_method
        self._upload = upload or UploadOptions()

    def __repr__(self) -> str:
        return f"OpenStackCloud({self.session.label}, {self._region!r})"

    @property
    def region(self) -> str:
        return self._region

    @property
    def member_id(self) -> str:
        return self.session.tenant_id

    @cached_property
    def _glance_url(self) -> str:
        url = self.session.endpoint("image", self._region).rstrip("/")
        return url if url.endswith("/v2") else f"{url}/v2"

    @cached_property
    def images(self) -> ImagesClient:
        return ImagesClient(self.session, region=self._region, endpoint=self._glance_url)

    @cached_property
    def glance(self) -> GlanceData:
        return GlanceData(self.session, self._glance_url)

    @cached_property
    def files(self) -> ObjectsClient:
        return ObjectsClient(self.session, region=self._region, options=self._upload)

    @cached_property
    def limits(self) -> ImportLimits:
        return ImportLimits(
            max_virtual_size=None,
            max_file_size=None,
            disk_formats=tuple(self.glance.disk_formats()),
            reserved_prefixes=("os_glance",),
            fetches_urls="web-download" in self._methods,
        )

    def close(self) -> None:
        files = self.__dict__.get("files")
        if isinstance(files, ObjectsClient):
            files.close()

    # catalogue ----------------------------------------------------------------------
    def find_images(
        self, *, properties: Mapping[str, str], name: str | None = None, owned: bool = True
    ) -> Iterator[Image]:
        owner = self.member_id if owned else None
        return self.images.find_active(properties=properties, name=name, owner=owner)

    # bytes in -----------------------------------------------------------------------
    def _records(self, staging: Staging, name: str) -> list[Image]:
        """This project's records of ``staging`` named ``name``, whatever their status."""
        marks = {STAGING_KEY: staging.name}
        found = self.images.list_images(name=name, owner=self.member_id, properties=marks)
        return [image for image in found if image.properties.get(STAGING_KEY) == staging.name]

    def find_import(self, staging: Staging, *, name: str) -> ImportJob | None:
        for record in self._records(staging, name):
            if record.status == "active":
                return ImportJob(task_id=record.id, status="success", image_id=record.id)
            if record.status in UNDERWAY and not failed_import(record):
                return ImportJob(task_id=record.id, status="processing")
        return None

    def _record(self, staging: Staging, name: str, disk_format: str) -> Image:
        """The ``queued`` record to put data into: one a failed run left, or a new one."""
        for record in self._records(staging, name):
            if record.status == "queued" and record.disk_format == disk_format:
                return record
        self._check_format(disk_format)
        return self.glance.create(
            name=name, disk_format=disk_format, properties={STAGING_KEY: staging.name}
        )

    def _check_format(self, disk_format: str) -> None:
        if disk_format not in self.limits.disk_formats:
            msg = (
                f"the image service of {self.session.label} in {self.region} does not take"
                f" {disk_format!r} disks; it takes {', '.join(self.limits.disk_formats)}."
                " Convert the disk (--disk-format) to one of those."
            )
            raise ConfigurationError(msg)

    def method(self) -> Literal["upload", "glance-direct"]:
        """How data goes in: as asked, or glance-direct when this Glance enables it."""
        if self._method != "auto":
            if self._method == "glance-direct" and "glance-direct" not in self._methods:
                msg = (
                    f"the image service in {self.region} has not enabled glance-direct import"
                    f" (it enables: {', '.join(self._methods) or 'none'}); use the upload method"
                )
                raise ConfigurationError(msg)
            return self._method
        return "glance-direct" if "glance-direct" in self._methods else "upload"

    @cached_property
    def _methods(self) -> list[str]:
        return self.glance.import_methods()

    def stage(
        self,
        staging: Staging,
        path: Path,
        *,
        name: str,
        disk_format: str,
        segment_size: int,
        progress: Progress | None,
    ) -> UploadResult:
        record = self._record(staging, name, disk_format)
        staged = self.method() == "glance-direct"
        hashes = self.glance.upload(record.id, path, stage=staged, progress=progress)
        if not staged:
            self._checked(record.id, hashes, f"upload of {path.name}")
        return upload_result(record.id, hashes)

    def stage_copy(
        self,
        staging: Staging,
        source: Cloud,
        exported: Exported,
        *,
        name: str,
        segment_size: int,
    ) -> UploadResult:
        record = self._record(staging, name, exported.disk_format)
        what = f"copy of {exported.object} into image {record.id}"
        for trying in retrying(self.session.retry, what):
            with trying, source.open_exported(exported) as stream:
                hashes = self.glance.upload_stream(
                    record.id, stream.chunks, stream.size, progress=None
                )
                try:
                    stream.verify(digests_of(hashes))
                except ChecksumMismatch:
                    self.images.delete_image(record.id)
                    raise
                self._checked(record.id, hashes, what)
                return upload_result(record.id, hashes)
        raise AssertionError("unreachable: retrying() returns or raises")  # pragma: no cover

    def _checked(self, image_id: str, hashes: Hashes, what: str) -> Image:
        image = self.images.get_image(image_id)
        try:
            hashes.check(image, what)
        except ChecksumMismatch:
            self.images.delete_image(image_id)
            raise
        return image

    def import_url(self, staging: Staging, url: str, *, name: str, disk_format: str) -> ImportJob:
        if "web-download" not in self._methods:
            msg = (
                f"the image service in {self.region} has not enabled web-download import"
                f" (it enables: {', '.join(self._methods) or 'none'}); import without"
                " --web-download (the URL is then downloaded here and uploaded)"
            )
            raise ConfigurationError(msg)
        record = self._record(staging, name, disk_format)
        self.glance.start_import(record.id, "web-download", uri=url)
        return ImportJob(task_id=record.id, status="processing", created=1)

    def start_import(self, staging: Staging, *, name: str) -> ImportJob:
        for record in self._records(staging, name):
            if record.status == "uploading":  # staged: the import makes it an image
                self.glance.start_import(record.id, "glance-direct")
                return ImportJob(task_id=record.id, status="processing", created=1)
            if record.status in ("saving", "active"):  # uploaded: Glance is done, or finishing
                return ImportJob(task_id=record.id, status=record.status, created=1)
        msg = f"no staged data for {staging} named {name!r}: stage it before importing"
        raise ConfigurationError(msg)

    def wait_import(
        self, job: ImportJob, staging: Staging, *, name: str, deadline: float
    ) -> ImportJob:
        interval, growth, longest = poll_schedule()
        while True:
            image = self.images.get_image(job.task_id)
            if image.status == "active":
                return job.model_copy(update={"status": "success", "image_id": image.id})
            if image.status in ("killed", "deleted", "pending_delete") or failed_import(image):
                raise self._import_failed(image)
            left = deadline - time.time()
            if left <= 0:
                msg = (
                    f"image {image.id} in {self.region} is still {image.status} after the"
                    " import's time limit; the image service may be stuck."
                )
                raise TaskTimedOut(msg, task_id=image.id, status=str(image.status))
            time.sleep(min(interval, left))
            interval = min(interval * growth, longest)

    def _import_failed(self, image: Image) -> TaskFailed:
        said = next(
            (t.get("message") for t in reversed(self.glance.tasks(image.id)) if t.get("message")),
            None,
        )
        msg = (
            f"the import of image {image.id} in {self.region} failed ({image.status}"
            f"{'; ' + str(said) if said else ''}).{self._why_not(image)}"
        )
        return TaskFailed(msg, task_id=image.id, code=None)

    def _why_not(self, image: Image) -> str:
        """What Glance does not say: the usual causes, and the quota when it publishes one."""
        used, limit = self.glance.storage_usage()
        if limit is not None and limit >= 0 and used + (image.size or 0) > limit:
            return (
                f" The project keeps {used} of its {limit} bytes of image storage: the image"
                " does not fit its storage quota. Delete images, or ask for a larger quota."
            )
        return (
            " Glance does not say why; the usual causes are the project's storage quota"
            " (ask its administrator) and data that does not match the disk format."
        )

    def abandon_import(self, job: ImportJob, staging: Staging) -> None:
        log.info("giving up on image %s (still importing); deleting it", job.task_id)
        self.images.delete_image(job.task_id)

    def discard_staged(self, staging: Staging) -> int:
        """Delete records of ``staging`` that are not (yet) images; the image stays."""
        removed = 0
        marks = {STAGING_KEY: staging.name}
        for record in self.images.list_images(owner=self.member_id, properties=marks):
            if record.status != "active":
                self.images.delete_image(record.id)
                removed += 1
        return removed

    # bytes out ----------------------------------------------------------------------
    def image_data(self, image: Image) -> Exported | None:
        return Exported(
            container="",
            object=image.id,
            size=image.size or 0,
            segments=0,
            disk_format=image.disk_format or "raw",
        )

    @property
    def accepts_streams(self) -> frozenset[str]:
        # Glance checks the data against disk_format and takes a VHD only when it is dynamic:
        # a VHD is converted rather than streamed.
        return frozenset(self.limits.disk_formats) - {"vhd"}

    def open_exported(self, exported: Exported) -> AbstractContextManager[ImageStream]:
        if exported.container:
            return open_export_stream(self.files, exported)
        return self._image_stream(exported.object)

    @contextmanager
    def _image_stream(self, image_id: str) -> Iterator[ImageStream]:
        image = self.images.get_image(image_id)
        with self.glance.download(image_id) as (size, chunks):
            yield ImageStream(size=size, chunks=chunks, verify=lambda d: same_image(image, d))

    def _export_name(self, image: Image) -> str:
        return f"{image.id}.{image.disk_format or 'raw'}"

    def find_export(self, image_id: str, container: str) -> Exported | None:
        try:
            return self.verify_export(image_id, container)
        except NotFound:
            return None

    def start_export(self, image_id: str, container: str) -> ExportJob:
        image = self.images.get_image(image_id)
        self.files.ensure_container(container)
        name = self._export_name(image)
        for trying in retrying(self.session.retry, f"export of image {image_id}"):
            with trying:
                self.files.upload_opened(
                    image_opener(lambda: self._image_stream(image_id)),
                    container,
                    name,
                    metadata={"glance-checksum": image.checksum or ""},
                )
        return ExportJob(task_id="", status="success")

    def wait_export(
        self, job: ExportJob, image_id: str, container: str, *, deadline: float
    ) -> None:
        return None  # written while it was started

    def verify_export(self, image_id: str, container: str) -> Exported:
        image = self.images.get_image(image_id)
        name = self._export_name(image)
        info = self.files.head_object(container, name)
        recorded = info.metadata.get("glance-checksum")
        if info.size != image.size or (image.checksum and recorded != image.checksum):
            msg = (
                f"{container}/{name} in {self.region} is not a copy of image {image_id}"
                f" ({info.size} bytes, checksum {recorded}; the image has {image.size},"
                f" {image.checksum}); delete it and export again"
            )
            raise ChecksumMismatch(msg, expected=str(image.checksum), actual=str(recorded))
        return Exported(
            container=container,
            object=name,
            size=info.size,
            segments=0,
            disk_format=image.disk_format or "raw",
        )

    def download_export(
        self, exported: Exported, dest: Path, *, progress: Progress | None
    ) -> DownloadResult:
        if exported.container:
            return self.files.download(exported.container, exported.object, dest, progress=progress)
        return download_image(self, exported.object, dest)

    def discard_export(self, exported: Exported) -> int:
        if not exported.container:
            return 0
        return self.files.delete_object(exported.container, exported.object, missing_ok=True)
