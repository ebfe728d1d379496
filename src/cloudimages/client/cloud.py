"""The seam between the pipelines and a cloud: one account's images and storage in one region.

Flows and steps talk only to :class:`Cloud`. Each dialect implements it in a
module of its own and is chosen in one place, from the account block:
``rackspace.py`` (Identity v2.0 API keys; bytes in and out through Cloud Images
import/export tasks on Cloud Files). Every dialect shares the Glance v2
catalogue (``ImagesClient``: images, properties, tags, members); what differs is
how bytes become an image and how an image becomes bytes again.

The bytes-in sequence every pipeline follows, whatever the dialect:
``find_import`` (adopt what an earlier run started) → ``stage`` → ``start_import``
→ ``wait_import`` → ``discard_staged``. Bytes out: ``find_export`` →
``start_export`` → ``wait_export`` → ``verify_export`` → ``download_export`` or a
target's ``stage_copy``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from ._hashing import Digests
from ._object_models import DownloadResult, UploadResult
from ._segments import Progress
from .images import ImagesClient
from .models import Image

__all__ = [
    "Cloud",
    "ExportJob",
    "Exported",
    "ImageStream",
    "ImportJob",
    "ImportLimits",
    "Staging",
]


class ImportLimits(BaseModel):
    """What a cloud accepts for import: checked before the first byte moves."""

    model_config = ConfigDict(frozen=True)

    max_virtual_size: int | None = Field(description="Largest virtual disk size, bytes.")
    max_file_size: int | None = Field(description="Largest staged file, bytes.")
    disk_formats: tuple[str, ...] = Field(description="Disk formats it imports (Glance names).")
    max_name_length: int = Field(default=255, description="Longest image name, characters.")
    reserved_prefixes: tuple[str, ...] = Field(
        default=(), description="Property key prefixes the service keeps for itself."
    )
    fetches_urls: bool = Field(
        default=False, description="Whether the service fetches a URL itself (web-download)."
    )


class Staging(BaseModel):
    """Where an image's bytes wait to become an image (a Cloud Files object on Rackspace)."""

    model_config = ConfigDict(frozen=True)

    container: str
    name: str

    def __str__(self) -> str:
        return f"{self.container}/{self.name}"


class ImportJob(BaseModel):
    """An import in progress or done: the service's task, and what this run did to it."""

    task_id: str
    status: str
    image_id: str | None = None
    created: int = Field(default=0, description="Import tasks this run created.")
    replaced: list[str] = Field(default_factory=list, description="Stuck tasks given up on.")


class ExportJob(BaseModel):
    """An export in progress or done."""

    task_id: str
    status: str


class Exported(BaseModel):
    """Where an image's bytes can be read: an export (Cloud Files), or the image itself.

    ``container`` is empty when the dialect serves the image's bytes directly
    (upstream Glance's ``GET /file``); ``object`` is then the image id.
    """

    container: str
    object: str
    size: int
    segments: int
    disk_format: str = Field(default="vhd", description="Glance's name of the format.")


@dataclass
class ImageStream:
    """An image's bytes being read once, and the check to run on what arrived."""

    size: int | None
    chunks: Iterator[bytes]
    verify: Callable[[Digests], None]  # ChecksumMismatch unless the bytes are the source's


class Cloud(Protocol):
    """An account's images and storage in one region (see the module docstring)."""

    @property
    def region(self) -> str:
        """The region this cloud works in, upper case."""
        ...

    @property
    def member_id(self) -> str:
        """The id other accounts share images with (the tenant or project id)."""
        ...

    @property
    def images(self) -> ImagesClient:
        """The Glance v2 catalogue: list, get, update, tags and members."""
        ...

    @property
    def limits(self) -> ImportLimits:
        """What this cloud imports."""
        ...

    def find_images(
        self, *, properties: Mapping[str, str], name: str | None = None, owned: bool = True
    ) -> Iterator[Image]:
        """Active images carrying every one of ``properties`` (and ``name``)."""
        ...

    def find_import(self, staging: Staging, *, name: str) -> ImportJob | None:
        """An import of ``staging`` as ``name`` that an earlier run started, if any."""
        ...

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
        """Put a local file where an import can read it; what is stored already is kept."""
        ...

    def stage_copy(
        self,
        staging: Staging,
        source: Cloud,
        exported: Exported,
        *,
        name: str,
        segment_size: int,
    ) -> UploadResult:
        """Stream another cloud's image bytes into ``staging``, verified on the way."""
        ...

    def import_url(self, staging: Staging, url: str, *, name: str, disk_format: str) -> ImportJob:
        """Have the cloud fetch ``url`` itself into a new image (Glance's web-download)."""
        ...

    def start_import(self, staging: Staging, *, name: str) -> ImportJob:
        """Start turning the staged bytes into an image named ``name``."""
        ...

    def wait_import(
        self, job: ImportJob, staging: Staging, *, name: str, deadline: float
    ) -> ImportJob:
        """Wait until the import made its image (``TaskFailed``/``TaskTimedOut`` if not)."""
        ...

    def abandon_import(self, job: ImportJob, staging: Staging) -> None:
        """Give up on an earlier run's unfinished import (a fresh one follows)."""
        ...

    def discard_staged(self, staging: Staging) -> int:
        """Delete the staged bytes; returns how many objects went (0: gone already)."""
        ...

    def image_data(self, image: Image) -> Exported | None:
        """The image's bytes, readable without an export; None: export it first."""
        ...

    @property
    def accepts_streams(self) -> frozenset[str]:
        """Disk formats ``stage_copy`` takes as they are (others are converted locally)."""
        ...

    def open_exported(self, exported: Exported) -> AbstractContextManager[ImageStream]:
        """Read an export (or the image) once, as a stream."""
        ...

    def find_export(self, image_id: str, container: str) -> Exported | None:
        """A complete, verified export of the image in ``container``, if there is one."""
        ...

    def start_export(self, image_id: str, container: str) -> ExportJob:
        """Start exporting an owned image into ``container`` (or adopt a running export)."""
        ...

    def wait_export(
        self, job: ExportJob, image_id: str, container: str, *, deadline: float
    ) -> None:
        """Wait until the export is written (``TaskFailed``/``TaskTimedOut`` if not)."""
        ...

    def verify_export(self, image_id: str, container: str) -> Exported:
        """Check the export is whole (``ChecksumMismatch`` if not, ``NotFound`` if absent)."""
        ...

    def download_export(
        self, exported: Exported, dest: Path, *, progress: Progress | None
    ) -> DownloadResult:
        """Download an export to a local file, verified."""
        ...

    def discard_export(self, exported: Exported) -> int:
        """Delete an export (manifest and segments)."""
        ...
