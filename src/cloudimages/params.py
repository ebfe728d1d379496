"""What each pipeline is asked to do: one request model per flow, every default stated once.

The CLI builds these from its options (help texts and defaults are read from
here), each flow takes one as its only parameter (Prefect draws the run form in
the UI from the model and validates it), and the deployments' defaults are
written as these models' fields. Inputs are checked here, before any byte moves:
names, lengths, containers, property keys. What depends on the target cloud (its
reserved property keys, size limits, disk formats) is checked by the first step
of each flow, still before anything is uploaded.

Nothing here imports Prefect, so the CLI can build a request fast.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from .client.units import GiB, MiB
from .errors import ConfigurationError

__all__ = [
    "BlockName",
    "ExportRequest",
    "ImportRequest",
    "Mode",
    "ReplicateRequest",
    "ReplicateTaggedRequest",
    "ShareRequest",
    "SyncRequest",
    "account_limit_name",
    "build",
    "default_of",
    "help_of",
]

STAGING_CONTAINER = "cloudimages-staging"
REPLICATE_CONTAINER = "cloudimages-replicate"
SYNC_EXPORT_CONTAINER = "cloudimages-sync"
TASK_TIMEOUT_MINUTES = 360.0
SEGMENT_SIZE_MB = 64
MAX_NAME = 255  # Glance's limit for names, tags and property keys and values
ACCOUNT_LIMIT_PREFIX = "cloudimages-account-"

M = TypeVar("M", bound=BaseModel)
Mode = Literal["auto", "share", "copy"]
BlockName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=MAX_NAME),
    Field(description="Name of an account block, Rackspace or OpenStack (lowercase, digits, -)."),
]
Region = Annotated[
    str | None,
    Field(default=None, description="Region to work in; empty: the account block's region."),
]
_Tag = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME)]


def _export_container(name: str) -> str:
    if not name or any(c in name for c in "/?."):
        msg = (
            f"container name {name!r} cannot receive exports: Cloud Images refuses names"
            " that are empty or contain '/', '?' or '.'. Choose a name like 'exports'."
        )
        raise ValueError(msg)
    return name


ExportContainer = Annotated[
    str, StringConstraints(max_length=256), AfterValidator(_export_container)
]
_FORM = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class _Request(BaseModel):
    model_config = _FORM


class ImportRequest(_Request):
    """Import a disk image file or URL into an account as a verified image."""

    source: str = Field(
        min_length=1,
        description="A local path or an http(s) URL of a disk image (qcow2, raw, VHD, VMDK...).",
    )
    account: BlockName
    name: str = Field(min_length=1, max_length=MAX_NAME, description="Name of the new image.")
    region: Region = None
    container: str = Field(
        default=STAGING_CONTAINER,
        min_length=1,
        max_length=256,
        pattern=r"^[^/]+$",
        description="Cloud Files container that stages the upload.",
    )
    properties: dict[str, str] = Field(
        default_factory=dict,
        description="Extra image properties (domain-style keys, e.g. com.example.role).",
    )
    tags: list[_Tag] = Field(default_factory=list, description="Tags to add to the image.")
    segment_size_mb: int = Field(
        default=SEGMENT_SIZE_MB, ge=1, le=5120, description="Upload segment size, MiB."
    )
    keep_staging: bool = Field(
        default=False, description="Keep the uploaded VHD in the staging container."
    )
    task_timeout_minutes: float = Field(
        default=TASK_TIMEOUT_MINUTES, gt=0, description="How long the import task may take."
    )
    replace_stuck_task: bool = Field(
        default=False,
        description="Give up on an earlier run's import task that is still pending or"
        " processing, and start a fresh one on the same staged upload.",
    )
    max_download_gb: float = Field(
        default=200.0, gt=0, description="Largest URL source to download, GiB."
    )
    web_download: bool = Field(
        default=False,
        description="OpenStack, URL sources: have the cloud fetch the URL itself (Glance's"
        " web-download): nothing is downloaded here; the cloud checks the format.",
    )
    source_format: str | None = Field(
        default=None,
        description="What the source is (qcow2, raw, vhd, vmdk...); default: what its name says."
        " Checked against its bytes before anything reads it.",
    )
    disk_format: str | None = Field(
        default=None,
        description="Import as this disk format (qcow2, raw, vhd...); default: the source's when"
        " the target takes it, else the one the target prefers (Rackspace: VHD).",
    )
    download_stall_seconds: float = Field(
        default=60.0, gt=0, description="Give up a URL download that sends nothing this long, s."
    )

    @field_validator("properties")
    @classmethod
    def _properties(cls, value: dict[str, str]) -> dict[str, str]:
        for key, item in value.items():
            if not key.strip() or len(key) > MAX_NAME or len(item) > MAX_NAME:
                msg = (
                    f"property {key[:40]!r}: keys must be 1 to {MAX_NAME} characters and"
                    f" values at most {MAX_NAME}"
                )
                raise ValueError(msg)
        return value

    @property
    def segment_size(self) -> int:
        return self.segment_size_mb * MiB

    @property
    def max_download_size(self) -> int:
        return int(self.max_download_gb * GiB)


class ExportRequest(_Request):
    """Export an owned image as a VHD into a Cloud Files container, verified."""

    image_id: str = Field(min_length=1, description="The image to export (the account owns it).")
    account: BlockName
    container: ExportContainer | None = Field(
        default=None,
        description="Container to export into (no '.', '/' or '?'); an OpenStack cloud's"
        " image can also go straight to a file (--download-to) without one.",
    )
    region: Region = None
    download_to: str | None = Field(
        default=None, description="Also download the exported VHD to this file or directory."
    )
    compare_with: str | None = Field(
        default=None, description="A local disk image to `qemu-img compare` the export with."
    )
    task_timeout_minutes: float = Field(
        default=TASK_TIMEOUT_MINUTES, gt=0, description="How long the export task may take."
    )

    @model_validator(mode="after")
    def _somewhere(self) -> Self:
        if self.container is None and self.download_to is None and self.compare_with is None:
            msg = "say where the export goes: a container, a file to download to, or both"
            raise ValueError(msg)
        return self


class ShareRequest(_Request):
    """Share an image with other accounts, optionally accepting for them."""

    image_id: str = Field(min_length=1, description="The image to share (the account owns it).")
    account: BlockName
    consumers: list[BlockName] = Field(
        min_length=1, description="Blocks of the accounts to share with."
    )
    accept: bool = Field(
        default=False, description="Also accept the offer as each consumer (with its block)."
    )
    region: Region = None


class _Replication(_Request):
    source: BlockName
    targets: list[BlockName] = Field(
        min_length=1, description="Blocks of the accounts to replicate to (their regions too)."
    )
    mode: Mode = Field(
        default="auto",
        description="share (same region), copy (export, copy, import) or auto: share where"
        " the target is in the image's region, copy elsewhere.",
    )
    source_region: Region = None
    max_per_account: int = Field(
        default=2, ge=1, le=64, description="Targets of one account worked on at once."
    )
    export_container: ExportContainer = Field(
        default=REPLICATE_CONTAINER,
        description="Container the source's export goes to (copy mode; deleted after).",
    )
    staging_container: str = Field(
        default=STAGING_CONTAINER,
        pattern=r"^[^/]+$",
        description="Container that stages each copy in its target (copy mode).",
    )
    task_timeout_minutes: float = Field(
        default=TASK_TIMEOUT_MINUTES, gt=0, description="How long each export or import may take."
    )
    segment_size_mb: int = Field(
        default=SEGMENT_SIZE_MB, ge=1, le=5120, description="Segment size of each copy, MiB."
    )

    @property
    def segment_size(self) -> int:
        return self.segment_size_mb * MiB


class _OneImage(_Request):
    image_id: str = Field(min_length=1, description="The image to replicate.")


class _Tagged(_Request):
    tag: str = Field(min_length=1, max_length=MAX_NAME, description="The tag to look for.")


class ReplicateRequest(_Replication, _OneImage):  # bases in this order: image_id comes first
    """Replicate one image to other accounts and regions: share or copy, in parallel."""


class ReplicateTaggedRequest(_Replication, _Tagged):
    """Replicate every image carrying a tag in the source account to the targets."""


class SyncRequest(_Request):
    """Plan or apply a sync spec: keep its images present, identical, shared and fresh."""

    spec: str = Field(
        min_length=1,
        description="Path (on the worker) or http(s) URL of the sync spec (YAML).",
    )
    mode: Literal["plan", "apply"] = Field(
        default="apply",
        description="plan: report the drift and what would change, change nothing; apply:"
        " make every target as the spec says.",
    )
    prune: bool = Field(
        default=False,
        description="Also delete: versions beyond a delete retention, copies with other"
        " content, duplicates, images no longer in the spec.",
    )
    delete_only: list[str] | None = Field(
        default=None,
        description="With prune: delete only these image ids (the ones a person confirmed).",
    )
    fail_on_drift: bool = Field(
        default=False,
        description="plan mode: fail the run when anything would change (for alerting).",
    )
    max_per_account: int = Field(
        default=2, ge=1, le=64, description="Targets of one account worked on at once."
    )
    staging_container: str = Field(
        default=STAGING_CONTAINER,
        min_length=1,
        max_length=256,
        pattern=r"^[^/]+$",
        description="Container that stages uploads in each target.",
    )
    export_container: ExportContainer = Field(
        default=SYNC_EXPORT_CONTAINER,
        description="Container image sources are exported to (deleted once downloaded).",
    )
    segment_size_mb: int = Field(
        default=SEGMENT_SIZE_MB, ge=1, le=5120, description="Upload segment size, MiB."
    )
    task_timeout_minutes: float = Field(
        default=TASK_TIMEOUT_MINUTES, gt=0, description="How long each import or export may take."
    )
    max_download_gb: float = Field(
        default=200.0, gt=0, description="Largest URL source to download, GiB."
    )
    download_stall_seconds: float = Field(
        default=60.0, gt=0, description="Give up a URL download that sends nothing this long, s."
    )

    @property
    def segment_size(self) -> int:
        return self.segment_size_mb * MiB

    @property
    def max_download_size(self) -> int:
        return int(self.max_download_gb * GiB)


def account_limit_name(block: str) -> str:
    """The Prefect global concurrency limit that guards the account saved as ``block``."""
    return f"{ACCOUNT_LIMIT_PREFIX}{block}"


def build(model: type[M], **values: Any) -> M:
    """``model(**values)``, with a ``ConfigurationError`` that names each bad field."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(_problem(e["loc"], e["msg"]) for e in error.errors())
        msg = f"the {model.__name__} is not valid: {problems}. Fix it and run again."
        raise ConfigurationError(msg) from None


def _problem(where: tuple[int | str, ...], said: str) -> str:
    field = ".".join(str(p) for p in where) or "request"
    return f"{field}: {said.removeprefix('Value error, ').rstrip('.')}"


def default_of(model: type[BaseModel], field: str) -> Any:
    """The default a request model states for ``field`` (the CLI shows and uses it)."""
    return model.model_fields[field].get_default(call_default_factory=True)


def help_of(model: type[BaseModel], field: str) -> str:
    """The description a request model gives ``field`` (the CLI's help text)."""
    return model.model_fields[field].description or ""
