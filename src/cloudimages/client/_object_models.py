"""Settings and results of the objects client (re-exported by ``client.objects``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .retry import RetryPolicy
from .units import MiB

META_PREFIX = "x-object-meta-"


class UploadOptions(BaseModel):
    """How the objects client moves bytes: segment size, parallelism, retries."""

    model_config = ConfigDict(frozen=True)

    segment_size: int = Field(
        default=64 * MiB,
        ge=MiB,
        description="Bytes per SLO segment; grown automatically to keep at most 1000 segments.",
    )
    concurrency: int = Field(default=4, ge=1, le=64, description="Segments uploaded at once.")
    segment_container: str | None = Field(
        default=None, description="Container for segments; default '<container>_segments'."
    )
    retry: RetryPolicy = Field(
        default_factory=RetryPolicy,
        description="Attempts and waits for transient failures (network, 5xx, 429).",
    )
    timeout: float = Field(default=120.0, gt=0, description="Socket timeout in seconds.")
    download_chunk_size: int = Field(
        default=MiB, ge=4096, description="Bytes read per chunk when downloading."
    )
    content_md5: bool = Field(
        default=True,
        description="Compute the whole-content md5 of a segmented file upload (one hash pass;"
        " the sha256 and each segment's md5 are computed and checked either way).",
    )
    spool_dir: Path | None = Field(
        default=None,
        description="Where streams (URLs, copies) are spooled; default: the temp directory.",
    )
    spool_segments: int = Field(
        default=8,
        ge=2,
        le=1000,
        description="Segments of a stream spooled on disk at most (at least concurrency + 1).",
    )


class ObjectInfo(BaseModel):
    """An object as a HEAD or a container listing describes it."""

    container: str
    name: str
    size: int
    etag: str = Field(description="As Swift reports it; quoted for SLO/DLO manifests.")
    content_type: str | None = None
    last_modified: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict, description="X-Object-Meta-* values.")
    large_object: Literal["slo", "dlo"] | None = None
    dlo_manifest: str | None = Field(default=None, description="X-Object-Manifest of a DLO.")


class UploadResult(BaseModel):
    """What an upload stored, with the hashes of the whole content."""

    container: str
    name: str
    size: int
    md5: str | None = Field(
        description="md5 of the whole content (not the SLO ETag); None for a segmented file"
        " upload with UploadOptions.content_md5 off."
    )
    sha256: str
    etag: str = Field(description="The ETag Swift gave the object (unquoted).")
    segments: int = Field(description="Segments in the manifest; 0 for a plain object.")
    segments_uploaded: int = Field(description="Segments sent by this run.")
    segments_skipped: int = Field(description="Segments a previous run had stored already.")
    manifest: bool = Field(description="True when stored as a Static Large Object.")
    segment_container: str | None = None


class DownloadResult(BaseModel):
    """What a download wrote, and how its integrity was checked."""

    container: str
    name: str
    path: Path
    size: int
    md5: str
    sha256: str
    etag: str
    verified_by: Literal["etag", "expected_md5", "segments"] | None = Field(
        description="What the bytes were checked against; None for a DLO (Swift keeps no md5)."
    )


def object_info(container: str, name: str, headers: Mapping[str, Any]) -> ObjectInfo:
    """What Swift's headers say about ``container/name``."""
    kind: Literal["slo", "dlo"] | None = None
    if str(headers.get("x-static-large-object", "")).lower() == "true":
        kind = "slo"
    elif "x-object-manifest" in headers:
        kind = "dlo"
    return ObjectInfo(
        container=container,
        name=name,
        size=int(headers.get("content-length", 0)),
        etag=str(headers.get("etag", "")),
        content_type=headers.get("content-type"),
        last_modified=headers.get("last-modified"),
        metadata={
            k[len(META_PREFIX) :]: str(v) for k, v in headers.items() if k.startswith(META_PREFIX)
        },
        large_object=kind,
        dlo_manifest=headers.get("x-object-manifest"),
    )


def user_metadata(headers: Mapping[str, Any]) -> dict[str, str]:
    """The object's own metadata (``X-Object-Meta-*``), by name without the prefix."""
    n = len(META_PREFIX)
    return {k[n:]: str(v) for k, v in headers.items() if k.lower().startswith(META_PREFIX)}
