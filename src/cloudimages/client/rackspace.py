"""Rackspace's dialect of the cloud seam: Cloud Images tasks over Cloud Files.

Bytes get into an image by an import task that reads a VHD staged in Cloud
Files, and out of it by an export task that writes a DLO into a container.
Each task this module creates is recorded first, in Swift metadata next to its
bytes (the staging object for an import, the receiving container for an
export), so a rerun finds its own task with one or two requests instead of
reading the account's task list: ``pending <time>`` before the task is created,
its id right after. Rackspace's intermittent import error 396 is answered by
creating the task again, as openstacksdk does, at most ``MAX_IMPORT_TASKS`` in all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import progress
from ..errors import ConfigurationError, NotFound, TaskFailed
from ._exports import export_object_name, verify_dlo_export
from ._object_models import DownloadResult, UploadOptions, UploadResult
from ._rackspace_streams import open_export_stream, upload_from
from ._segments import Progress
from .cloud import Exported, ExportJob, ImageStream, ImportJob, ImportLimits, Staging
from .identity import AccountSession
from .images import ImagesClient
from .imagetasks import CLOCK_SLACK, find_task
from .models import Image, Task
from .objects import ObjectsClient
from .retry import poll_schedule
from .units import GiB

if TYPE_CHECKING:
    from .cloud import Cloud

__all__ = ["MAX_IMPORT_TASKS", "RACKSPACE_LIMITS", "RackspaceCloud"]

log = logging.getLogger("cloudimages.client")

#: Import tasks in all for one import when the service keeps answering error 396.
MAX_IMPORT_TASKS = 3
INTERMITTENT_CODE = "396"
#: The import limits Rackspace documents (2019-2020: 160 GB virtual and file size).
RACKSPACE_LIMITS = ImportLimits(
    max_virtual_size=160 * GiB,
    max_file_size=160 * GiB,
    disk_formats=("vhd",),
    reserved_prefixes=("com.rackspace", "org.openstack"),
)
IMPORT_MARKER = "cloudimages-import-task"
EXPORT_MARKER = "cloudimages-export-"
_PENDING = "pending "


class RackspaceCloud:
    """One Rackspace account in one region: Cloud Images plus Cloud Files."""

    def __init__(
        self,
        session: AccountSession,
        region: str,
        *,
        upload: UploadOptions | None = None,
        limits: ImportLimits = RACKSPACE_LIMITS,
    ) -> None:
        self.session = session
        self._region = region.upper()
        # Cloud Images re-packs what it imports, so the image's checksum is never the
        # staged file's md5: that whole-file pass would be work for nothing (the sha256
        # and each segment's md5 are still computed and checked).
        self._upload = upload or UploadOptions(content_md5=False)
        self._limits = limits

    def __repr__(self) -> str:
        return f"RackspaceCloud({self.session.credentials.username!r}, {self._region!r})"

    @property
    def region(self) -> str:
        return self._region

    @property
    def member_id(self) -> str:
        return self.session.tenant_id

    @property
    def limits(self) -> ImportLimits:
        return self._limits

    @cached_property
    def images(self) -> ImagesClient:
        return ImagesClient(self.session, region=self._region)

    @cached_property
    def files(self) -> ObjectsClient:
        """Cloud Files of this account and region (pooled connections, thread-safe)."""
        return ObjectsClient(self.session, region=self._region, options=self._upload)

    def close(self) -> None:
        """Close the pooled Cloud Files connections, if any were opened."""
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
    def find_import(self, staging: Staging, *, name: str) -> ImportJob | None:
        try:
            marker = self.files.head_object(staging.container, staging.name).metadata
        except NotFound:
            return None
        task = self._recorded_task(marker.get(IMPORT_MARKER), _import_body(staging, name))
        if task is None or task.status == "failure":
            return None
        if task.status == "success" and not self._image_exists(task.image_id):
            return None  # its image was deleted since: import again
        return ImportJob(task_id=task.id, status=task.status, image_id=task.image_id)

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
        _only_vhd(disk_format)
        self.files.ensure_container(staging.container)
        return self.files.upload_file(
            path, staging.container, staging.name, segment_size=segment_size, progress=progress
        )

    def stage_copy(
        self,
        staging: Staging,
        source: Cloud,
        exported: Exported,
        *,
        name: str,
        segment_size: int,
    ) -> UploadResult:
        _only_vhd(exported.disk_format)
        self.files.ensure_container(staging.container)
        if isinstance(source, RackspaceCloud) and exported.container:
            return source.files.copy_across(
                self.files,
                exported.container,
                exported.object,
                staging.container,
                staging.name,
                segment_size=segment_size,
                progress=progress.current(),  # the copy step's phase, if it opened one
            )
        return upload_from(
            self.files,
            source,
            exported,
            staging,
            segment_size=segment_size,
            progress=progress.current(),
        )

    def import_url(self, staging: Staging, url: str, *, name: str, disk_format: str) -> ImportJob:
        msg = (
            "Rackspace Cloud Images imports only from Cloud Files, not from a URL: import"
            " without --web-download (the URL is downloaded and checked here first)"
        )
        raise ConfigurationError(msg)

    def start_import(self, staging: Staging, *, name: str) -> ImportJob:
        task = self._create_recorded(
            lambda: self.images.create_import_task(staging.container, staging.name, name=name),
            record=lambda value: self.files.set_object_metadata(
                staging.container, staging.name, {IMPORT_MARKER: value}
            ),
        )
        return ImportJob(task_id=task.id, status=task.status, created=1)

    def abandon_import(self, job: ImportJob, staging: Staging) -> None:
        """Nothing to undo: the staged upload stays and a fresh task reads it again."""
        log.info("giving up on import task %s of %s", job.task_id, staging)

    def wait_import(
        self, job: ImportJob, staging: Staging, *, name: str, deadline: float
    ) -> ImportJob:
        while True:
            try:
                task = self._wait(job.task_id, deadline)
            except TaskFailed as error:
                if error.code != INTERMITTENT_CODE or job.created >= MAX_IMPORT_TASKS:
                    raise
                log.warning("import task %s failed with error 396; creating it again", job.task_id)
                again = self.start_import(staging, name=name)
                job = again.model_copy(update={"created": job.created + 1})
                continue
            return job.model_copy(update={"status": task.status, "image_id": task.image_id})

    def discard_staged(self, staging: Staging) -> int:
        """The staged object, its segments, and segments of earlier attempts at it.

        A run killed mid-upload leaves segments that only its own manifest would have
        named; a rerun with another segment size never names them: delete by prefix.
        """
        removed = self.files.delete_object(staging.container, staging.name, missing_ok=True)
        segments = self._upload.segment_container or f"{staging.container}_segments"
        try:
            leftovers = self.files.list_objects(segments, prefix=f"{staging.name}/")
        except NotFound:
            return removed
        for leftover in leftovers:
            removed += self.files.delete_object(segments, leftover.name, missing_ok=True)
        return removed

    # bytes out ----------------------------------------------------------------------
    def image_data(self, image: Image) -> Exported | None:
        return None  # Cloud Images serves no image bytes: export first

    @property
    def accepts_streams(self) -> frozenset[str]:
        return frozenset({"vhd"})

    def open_exported(self, exported: Exported) -> AbstractContextManager[ImageStream]:
        return open_export_stream(self.files, exported)

    def find_export(self, image_id: str, container: str) -> Exported | None:
        try:
            return self.verify_export(image_id, container)
        except NotFound:
            return None

    def start_export(self, image_id: str, container: str) -> ExportJob:
        self.files.ensure_container(container)
        key = f"{EXPORT_MARKER}{image_id}"
        body = {
            "type": "export",
            "input": {"image_uuid": image_id, "receiving_swift_container": container},
        }
        earlier = self._recorded_task(self.files.container_metadata(container).get(key), body)
        if earlier is not None and earlier.status in ("pending", "processing"):
            log.info("adopting export task %s of image %s", earlier.id, image_id)
            return ExportJob(task_id=earlier.id, status=earlier.status)
        task = self._create_recorded(
            lambda: self.images.create_export_task(image_id, container),
            record=lambda value: self.files.set_container_metadata(container, {key: value}),
        )
        return ExportJob(task_id=task.id, status=task.status)

    def wait_export(
        self, job: ExportJob, image_id: str, container: str, *, deadline: float
    ) -> None:
        self._wait(job.task_id, deadline)
        self.files.set_container_metadata(container, {f"{EXPORT_MARKER}{image_id}": ""})

    def verify_export(self, image_id: str, container: str) -> Exported:
        name = export_object_name(image_id)
        manifest = self.files.head_object(container, name)
        segments = self.files.list_objects(container, prefix=f"{name}-")
        return verify_dlo_export(manifest, segments, where=f"{container}/{name} in {self.region}")

    def download_export(
        self, exported: Exported, dest: Path, *, progress: Progress | None
    ) -> DownloadResult:
        return self.files.download(exported.container, exported.object, dest, progress=progress)

    def discard_export(self, exported: Exported) -> int:
        return self.files.delete_object(exported.container, exported.object, missing_ok=True)

    # tasks --------------------------------------------------------------------------
    def _wait(self, task_id: str, deadline: float) -> Task:
        first, growth, longest = poll_schedule()
        return self.images.wait_for_task(
            task_id,
            timeout=max(0.0, deadline - time.time()),
            poll_interval=first,
            backoff=growth,
            max_interval=longest,
        )

    def _create_recorded(
        self, create: Callable[[], Task], *, record: Callable[[str], None]
    ) -> Task:
        """Record ``pending <now>``, create the task, then record its id."""
        record(f"{_PENDING}{datetime.now(UTC).isoformat()}")
        task = create()
        record(task.id)
        return task

    def _recorded_task(self, marker: str | None, body: dict[str, Any]) -> Task | None:
        """The task a marker names: by id, or among those created since a pending mark."""
        if not marker:
            return None
        if marker.startswith(_PENDING):
            since = datetime.fromisoformat(marker.removeprefix(_PENDING))
            return find_task(self.images, body, since=since - CLOCK_SLACK)
        try:
            task = self.images.get_task(marker)
        except NotFound:  # tasks expire 48 h after they finish
            return None
        given = task.input or {}
        return task if all(given.get(k) == v for k, v in body["input"].items()) else None

    def _image_exists(self, image_id: str | None) -> bool:
        if image_id is None:
            return False
        try:
            self.images.get_image(image_id)
        except NotFound:
            return False
        return True


def _only_vhd(disk_format: str) -> None:
    if disk_format != "vhd":
        msg = f"Rackspace Cloud Images imports VHD only, not {disk_format!r}; convert it first"
        raise ConfigurationError(msg)


def _import_body(staging: Staging, name: str) -> dict[str, Any]:
    return {
        "type": "import",
        "input": {"import_from": str(staging), "image_properties": {"name": name}},
    }
