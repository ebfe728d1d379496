"""Object versioning, as Cloud Files documents it (Swift's ``versioned_writes``).

A container with ``X-Versions-Location: <archive>`` keeps every overwritten object in the
archive container as ``<3-hex-digit name length><name>/<timestamp>`` before the write
goes ahead; a DELETE removes the current version and restores the newest archived one
(a stack).  ``X-History-Location`` instead archives on DELETE too and leaves a delete
marker, so the object is gone but its history stays.  Archived copies share the blob of
the version they keep (blobs are immutable); the archive rows hold the object's own
headers, manifests included, so large objects are versioned as manifests.
"""

from __future__ import annotations

import time
from dataclasses import replace

from starlette.responses import Response

from .containers import versions_container
from .context import Ctx
from .http import SwiftError, swift_response, x_timestamp
from .store import ObjectRecord

DELETE_MARKER = "application/x-deleted;swift_versions_deleted=1"


def version_prefix(name: str) -> str:
    """Archive names of one object share this prefix (its UTF-8 length in 3 hex digits)."""
    return f"{len(name.encode()):03x}{name}/"


def archive_current(ctx: Ctx, account: str, container: str, name: str) -> None:
    """Before an object is overwritten (or, in history mode, deleted): keep the current one."""
    versioning = versions_container(ctx.store.get_container(account, container))
    if versioning is None:
        return
    _mode, archive = versioning
    current = ctx.store.get_object(account, container, name)
    if current is None:
        return
    _store_in_archive(ctx, account, archive, current, version_prefix(name))


def _store_in_archive(
    ctx: Ctx, account: str, archive: str, record: ObjectRecord, prefix: str
) -> None:
    if ctx.store.get_container(account, archive) is None:
        raise SwiftError(412)  # Swift: the archive must exist before anything is versioned
    kept = replace(record, container=archive, name=prefix + x_timestamp(record.timestamp))
    ctx.store.put_object(account, kept)


def delete_versioned(ctx: Ctx) -> Response | None:
    """A DELETE in a versioned container, or None when the container does not version."""
    versioning = versions_container(ctx.store.get_container(ctx.account, ctx.container or ""))
    if versioning is None:
        return None
    mode, archive = versioning
    if mode == "history":
        return _delete_with_history(ctx, archive)
    return _delete_popping(ctx, archive)


def _delete_with_history(ctx: Ctx, archive: str) -> Response:
    account, container, name = ctx.account, ctx.container or "", ctx.obj or ""
    archive_current(ctx, account, container, name)
    now = time.time()
    marker = ObjectRecord(archive, "", None, 0, _EMPTY_MD5, DELETE_MARKER, now)
    _store_in_archive(ctx, account, archive, marker, version_prefix(name))
    if not ctx.store.delete_object(account, container, name):
        raise SwiftError(404)
    return swift_response(204, None, method="DELETE")


def _delete_popping(ctx: Ctx, archive: str) -> Response:
    """Stack mode: the newest archived version (if any) becomes current again."""
    account, container, name = ctx.account, ctx.container or "", ctx.obj or ""
    versions = _archived(ctx, account, archive, name)
    latest = versions[0] if versions else None
    if latest is not None and latest.content_type != DELETE_MARKER:
        _restore(ctx, account, container, name, latest)
        return swift_response(204, None, method="DELETE")
    if latest is not None and ctx.store.get_object(account, container, name) is None:
        # the marker is current: bring back the version just before it (unless that is
        # a marker too), then drop the marker
        older = versions[1] if len(versions) > 1 else None
        if older is not None and older.content_type != DELETE_MARKER:
            _restore(ctx, account, container, name, older)
        ctx.store.delete_object(account, archive, latest.name)
        return swift_response(204, None, method="DELETE")
    if not ctx.store.delete_object(account, container, name):
        raise SwiftError(404)
    return swift_response(204, None, method="DELETE")


def _restore(ctx: Ctx, account: str, container: str, name: str, version: ObjectRecord) -> None:
    """Copy an archived version back over the current object, then drop it from the archive."""
    ctx.store.put_object(account, replace(version, container=container, name=name))
    ctx.store.delete_object(account, version.container, version.name)


def _archived(ctx: Ctx, account: str, archive: str, name: str) -> list[ObjectRecord]:
    """Archived versions of one object, newest first."""
    if ctx.store.get_container(account, archive) is None:
        return []
    found = list(ctx.store.iter_prefix(account, archive, version_prefix(name)))
    return sorted(found, key=lambda r: r.name, reverse=True)


_EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"
