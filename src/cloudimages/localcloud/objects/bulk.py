"""Bulk operations Cloud Files offers: bulk delete and archive auto-extraction.

``POST`` (or ``DELETE``) with ``?bulk-delete`` deletes the newline-separated, URL-encoded
``/container/object`` and ``/container`` paths of the body (objects first, containers
after); ``PUT`` with ``?extract-archive=tar|tar.gz|tar.bz2`` creates one object per
regular file of the archive under the request path.  Both answer 200 with a report in the
body (``reports.py``); each item is checked and written as its own request would be.
"""

from __future__ import annotations

import tarfile
import tempfile
import time
from dataclasses import replace
from typing import IO, Any
from urllib.parse import quote, unquote

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from .context import Ctx, check_container_name, check_object_name
from .http import REASONS, SwiftError, header_text, swift_response
from .limits import CHUNK_SIZE, MAX_FILE_SIZE
from .reports import report_body, report_format
from .store import ContainerNotEmpty, ObjectRecord
from .versioning import archive_current
from .writes import content_type_for, delete_object, object_meta

MAX_DELETES = 10000
MAX_PATH_LENGTH = 1024 + 256 + 2
ARCHIVE_MODES = {"tar": "r|", "tar.gz": "r|gz", "tar.bz2": "r|bz2"}
_SPOOL_IN_MEMORY = 1024 * 1024


def _status(code: int) -> str:
    return f"{code} {REASONS.get(code, ('', ''))[0]}"


def _report(ctx: Ctx, data: dict[str, Any], errors: list[list[str]], tag: str) -> Response:
    media = report_format(ctx.headers.get("accept"))
    return swift_response(200, report_body(media, data, errors, tag), content_type=media)


# bulk delete ----------------------------------------------------------------------
async def bulk_delete(ctx: Ctx) -> Response:
    """Delete every listed path; the report says what was deleted, missing or refused."""
    names = await _listed_paths(ctx)
    data: dict[str, Any] = {"Response Status": _status(200), "Response Body": ""}
    data.update({"Number Deleted": 0, "Number Not Found": 0})
    errors: list[list[str]] = []
    failure = 400
    objects = [n for n in names if "/" in n.strip("/")]
    containers = [n for n in names if "/" not in n.strip("/")]
    for name in objects + containers:
        status = _delete_one(ctx, name)
        if status in (200, 202, 204):
            data["Number Deleted"] += 1
        elif status == 404:
            data["Number Not Found"] += 1
        else:
            errors.append([quote(name), _status(status)])
            failure = 401 if status == 401 else failure
    if errors:
        data["Response Status"] = _status(failure)
    elif not names:
        data["Response Status"] = _status(400)
        data["Response Body"] = "Invalid bulk delete."
    return _report(ctx, data, errors, "delete")


async def _listed_paths(ctx: Ctx) -> list[str]:
    body = b""
    try:
        async for chunk in ctx.request.stream():
            body += chunk
            if len(body) > MAX_DELETES * MAX_PATH_LENGTH:
                raise SwiftError(413, f"Maximum Bulk Deletes: {MAX_DELETES} per request")
    except ClientDisconnect:
        raise SwiftError(499) from None
    names = [unquote(header_text(line.decode("latin-1").strip())) for line in body.split(b"\n")]
    names = [n for n in names if n]
    if len(names) > MAX_DELETES:
        raise SwiftError(413, f"Maximum Bulk Deletes: {MAX_DELETES} per request")
    return names


def _delete_one(ctx: Ctx, name: str) -> int:
    """Delete one object or (empty) container as its own DELETE would; its status."""
    container, _, obj = name.strip("/").partition("/")
    try:
        check_container_name(container)
        if obj:
            check_object_name(obj)
            return delete_object(replace(ctx, container=container, obj=obj)).status_code
        return _delete_container(ctx, container)
    except SwiftError as err:
        return err.status


def _delete_container(ctx: Ctx, container: str) -> int:
    ctx.require_owner()
    if ctx.store.get_container(ctx.account, container) is None:
        return 404
    try:
        ctx.store.delete_container(ctx.account, container)
    except ContainerNotEmpty:
        return 409
    return 204


# extract archive ---------------------------------------------------------------------
async def extract_archive(ctx: Ctx, kind: str) -> Response:
    """Unpack a tar (optionally gzip/bzip2) body into objects under the request path."""
    mode = ARCHIVE_MODES.get(kind)
    if mode is None:
        raise SwiftError(400, "Unsupported archive format")
    if "content-length" not in ctx.headers and "chunked" not in ctx.headers.get(
        "transfer-encoding", ""
    ):
        raise SwiftError(411)
    base = "/".join(p for p in (ctx.container, ctx.obj) if p).rstrip("/")
    with tempfile.SpooledTemporaryFile(_SPOOL_IN_MEMORY) as spool:
        await _spool_body(ctx, spool)
        spool.seek(0)
        data, errors = await run_in_threadpool(_extract, ctx, spool, mode, base)
    return _report(ctx, data, errors, "extract")


async def _spool_body(ctx: Ctx, spool: IO[bytes]) -> None:
    try:
        async for chunk in ctx.request.stream():
            spool.write(chunk)
    except ClientDisconnect:
        raise SwiftError(499) from None


def _extract(
    ctx: Ctx, spool: IO[bytes], mode: str, base: str
) -> tuple[dict[str, Any], list[list[str]]]:
    data: dict[str, Any] = {"Response Status": _status(201), "Response Body": ""}
    data["Number Files Created"] = 0
    errors: list[list[str]] = []
    try:
        with tarfile.open(fileobj=spool, mode=mode) as tar:  # type: ignore[call-overload]
            for member in tar:
                if not member.isfile():
                    continue
                path = member.name.removeprefix("./").lstrip("/")
                path = f"{base}/{path}" if base else path
                if "/" not in path:
                    continue  # a file at the account's top level has no container
                status = _extract_one(ctx, tar, member, path)
                if status == 201:
                    data["Number Files Created"] += 1
                else:
                    errors.append([quote(path[:MAX_PATH_LENGTH]), _status(status)])
    except (tarfile.TarError, EOFError, OSError) as err:
        data["Response Status"] = _status(400)
        data["Response Body"] = f"Invalid Tar File: {err}"
    if errors:
        data["Response Status"] = _status(400)
    return data, errors


def _extract_one(ctx: Ctx, tar: tarfile.TarFile, member: tarfile.TarInfo, path: str) -> int:
    """Create one object from an archive member; its status as its own PUT would give."""
    container, _, obj = path.partition("/")
    try:
        check_container_name(container)
        check_object_name(obj)
        if member.size > MAX_FILE_SIZE:
            return 413
        record = ctx.store.get_container(ctx.account, container)
        if record is None:
            ctx.require_owner()
            ctx.store.create_container(
                ctx.account, container, {"x-container-sysmeta-modified": str(time.time())}
            )
        ctx.require("write", container)
        _write_member(ctx, tar, member, container, obj)
    except SwiftError as err:
        return err.status
    return 201


def _write_member(
    ctx: Ctx, tar: tarfile.TarFile, member: tarfile.TarInfo, container: str, obj: str
) -> None:
    meta, _, expires = object_meta(ctx, obj)
    meta.pop("x-object-manifest", None)
    ctype = content_type_for(ctx, obj)
    for key, value in member.pax_headers.items():
        attr = key.split("xattr.", 1)[-1] if "xattr." in key else ""
        if attr == "user.mime_type":
            ctype = value
        elif attr.startswith("user.meta."):
            meta[f"x-object-meta-{attr[len('user.meta.') :]}"] = value
    source = tar.extractfile(member)
    writer = ctx.store.blobs.writer()
    try:
        while source is not None and (chunk := source.read(CHUNK_SIZE)):
            writer.write(chunk)
    except BaseException:
        writer.abort()
        raise
    blob = writer.commit()
    record = ObjectRecord(
        container, obj, blob, writer.size, writer.etag, ctype, time.time(), meta, expires
    )
    archive_current(ctx, ctx.account, container, obj)
    ctx.store.put_object(ctx.account, record)
