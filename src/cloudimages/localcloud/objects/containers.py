"""Container settings beyond metadata: policy, versioning mode, quotas, modification time.

Cloud Files containers carry an archive container for object versioning
(``X-Versions-Location``, or Swift's ``X-History-Location``) and quotas
(``X-Container-Meta-Quota-Bytes`` / ``-Count``, checked on every write).  The
container's own modification time (``Last-Modified``, moved by PUT and POST on the
container, not by writes of objects) lives in system metadata, which clients never see.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from .context import Ctx
from .http import SwiftError, header_text
from .store import ContainerRecord

POLICY = "Policy-0"
SYSMETA = "x-container-sysmeta-"
MODIFIED = f"{SYSMETA}modified"
VERSIONS = "x-versions-location"
HISTORY = "x-history-location"
QUOTA_BYTES = "x-container-meta-quota-bytes"
QUOTA_COUNT = "x-container-meta-quota-count"


def check_policy(name: str | None) -> None:
    """Cloud Files has one storage policy; naming another is a 400, as in Swift."""
    if name and name.lower() != POLICY.lower():
        raise SwiftError(400, f"Invalid {'X-Storage-Policy'} {name!r}")


def container_modified(record: ContainerRecord) -> float:
    return float(record.meta.get(MODIFIED, record.created_at))


def merged(existing: dict[str, Any], updates: dict[str, str | None]) -> dict[str, Any]:
    """Stored metadata after ``updates`` (None or "" removes), to check limits on the whole."""
    result = dict(existing)
    for key, value in updates.items():
        if value is None or value == "":
            result.pop(key, None)
        else:
            result[key] = value
    return result


def container_feature_updates(ctx: Ctx) -> dict[str, str | None]:
    """Versioning location and quota headers of a container PUT or POST, validated."""
    updates: dict[str, str | None] = {}
    given = [h for h in (VERSIONS, HISTORY) if ctx.headers.get(h)]
    if len(given) > 1:
        msg = "Only one of X-Versions-Location or X-History-Location may be specified"
        raise SwiftError(400, msg)
    for header in (VERSIONS, HISTORY):
        removal = "x-remove-" + header[2:]
        if header in ctx.headers or removal in ctx.headers:
            value = ctx.headers.get(header, "")  # setting wins over removing
            if value and "/" in unquote(header_text(value)).strip("/"):
                raise SwiftError(400, 'Container name cannot contain "/"')
            updates[header] = value or None
    if given:  # the modes exclude each other: setting one clears the other
        other = HISTORY if given[0] == VERSIONS else VERSIONS
        updates[other] = None
    for header in (QUOTA_BYTES, QUOTA_COUNT):
        value = ctx.headers.get(header)
        if value and not value.lstrip("-").isdigit():
            raise SwiftError(400, "Invalid Quota Value")
    return updates


def versions_container(record: ContainerRecord | None) -> tuple[str, str] | None:
    """(mode, archive container) when versioning is on: mode ``stack`` or ``history``."""
    if record is None:
        return None
    for header, mode in ((VERSIONS, "stack"), (HISTORY, "history")):
        value = record.meta.get(header)
        if value:
            return mode, unquote(header_text(value)).strip("/")
    return None


def check_quota(ctx: Ctx, record: ContainerRecord, added_bytes: int, added_objects: int) -> None:
    """413 when a write would take the container over its byte or object quota."""
    quota_bytes = record.meta.get(QUOTA_BYTES)
    quota_count = record.meta.get(QUOTA_COUNT)
    if not (quota_bytes or quota_count):
        return
    count, used = ctx.store.container_stats(ctx.account, record.name)
    if quota_bytes and used + added_bytes > int(quota_bytes):
        raise SwiftError(413, "Upload exceeds quota.")
    if quota_count and count + added_objects > int(quota_count):
        raise SwiftError(413, "Upload exceeds quota.")
