"""Object PUT, POST and DELETE: streamed, verified uploads and manifest writes."""

from __future__ import annotations

import asyncio
import mimetypes
import time
from urllib.parse import unquote

from starlette.requests import ClientDisconnect
from starlette.responses import Response

from .blobs import BlobWriter
from .containers import check_quota
from .context import Ctx
from .http import SwiftError, check_metadata, header_text, swift_response
from .limits import CLIENT_TIMEOUT, MAX_FILE_SIZE
from .reads import load
from .slowrites import created, delete_slo, put_slo
from .store import ObjectRecord
from .versioning import archive_current, delete_versioned

MAX_DELETE_AT = 9999999999
_KEPT_HEADERS = ("content-disposition", "content-encoding", "content-language", "cache-control")


def content_length(ctx: Ctx) -> int | None:
    """The declared body length (None for chunked); 411/413/400 as Swift answers."""
    chunked = "chunked" in ctx.headers.get("transfer-encoding", "").lower()
    raw = ctx.headers.get("content-length")
    if raw is None:
        if not chunked:
            raise SwiftError(411, "Missing Content-Length header.")
        return None
    try:
        length = int(raw)
    except ValueError:
        raise SwiftError(400, "Invalid Content-Length header value") from None
    if length < 0:
        raise SwiftError(400, "Invalid Content-Length header value")
    if length > MAX_FILE_SIZE:
        raise SwiftError(413, "Your request is too large.")
    return length


def object_meta(ctx: Ctx, name: str) -> tuple[dict[str, str], str, float | None]:
    """(stored headers, content type, delete-at) from a PUT or POST."""
    meta: dict[str, str] = {}
    for key, value in ctx.headers.items():
        lower = key.lower()
        if lower.startswith("x-object-meta-") or lower in _KEPT_HEADERS:
            meta[lower] = value
    check_metadata(meta, "object")
    manifest = ctx.headers.get("x-object-manifest")
    if manifest is not None:
        container, _, _prefix = unquote(header_text(manifest)).lstrip("/").partition("/")
        if not container or "/" not in manifest.lstrip("/"):
            msg = "X-Object-Manifest must be in the format container/prefix"
            raise SwiftError(400, msg)
        meta["x-object-manifest"] = manifest.lstrip("/")
    return meta, content_type_for(ctx, name), delete_at(ctx)


def content_type_for(ctx: Ctx, name: str) -> str:
    given: str | None = ctx.headers.get("content-type")
    detect = ctx.headers.get("x-detect-content-type", "").lower() in ("true", "1", "yes", "on")
    if given and not detect:
        return given
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def delete_at(ctx: Ctx) -> float | None:
    now = time.time()
    if "x-delete-after" in ctx.headers:
        try:
            after = int(ctx.headers["x-delete-after"])
        except ValueError:
            raise SwiftError(400, "Non-integer X-Delete-After") from None
        if after < 0:
            raise SwiftError(400, "X-Delete-After in past")
        return now + after
    if "x-delete-at" in ctx.headers:
        try:
            at = int(ctx.headers["x-delete-at"])
        except ValueError:
            raise SwiftError(400, "Non-integer X-Delete-At") from None
        if at < now:
            raise SwiftError(400, "X-Delete-At in past")
        return float(min(at, MAX_DELETE_AT))  # Swift caps it at 2286-11-20
    return None


def check_if_none_match(ctx: Ctx) -> None:
    """``If-None-Match: *`` makes a PUT fail (412) when the object exists; nothing else is taken."""
    value = ctx.headers.get("if-none-match")
    if value is None:
        return
    if value.strip() != "*":
        raise SwiftError(400, "If-None-Match only supports *")
    if ctx.store.get_object(ctx.account, ctx.container or "", ctx.obj or "") is not None:
        raise SwiftError(412)


async def put_object(ctx: Ctx) -> Response:
    ctx.require("write")
    container = ctx.store.get_container(ctx.account, ctx.container or "")
    if container is None:
        raise SwiftError(404)
    length = content_length(ctx)
    check_quota(ctx, container, length or 0, 1)
    meta, ctype, expires = object_meta(ctx, ctx.obj or "")
    check_if_none_match(ctx)
    if ctx.query.get("multipart-manifest") == "put":
        return await put_slo(ctx, length, meta, ctype, expires)
    writer = await receive_body(ctx, length)
    if length is None:  # chunked: the quota is checked once the size is known
        try:
            check_quota(ctx, container, writer.size, 1)
        except SwiftError:
            writer.abort()
            raise
    expected = ctx.headers.get("etag", "").strip('"').lower()
    if expected and expected != writer.etag:
        writer.abort()
        raise SwiftError(422)
    record = ObjectRecord(
        ctx.container or "",
        ctx.obj or "",
        writer.commit(),
        writer.size,
        writer.etag,
        ctype,
        time.time(),
        meta,
        expires,
    )
    archive_current(ctx, ctx.account, record.container, record.name)
    ctx.store.put_object(ctx.account, record)
    return created(ctx, record.etag, record.timestamp)


async def receive_body(ctx: Ctx, length: int | None) -> BlobWriter:
    """Stream the request body into a new blob, hashing as it goes."""
    writer = ctx.store.blobs.writer()
    chunks = ctx.request.stream().__aiter__()
    try:
        while True:
            try:
                chunk = await asyncio.wait_for(chunks.__anext__(), CLIENT_TIMEOUT)
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise SwiftError(408) from None  # a stalled client must not pin a temp file
            writer.write(chunk)
            if writer.size > MAX_FILE_SIZE:
                raise SwiftError(413, "Your request is too large.")
    except ClientDisconnect:
        writer.abort()
        raise SwiftError(499) from None
    except BaseException:
        writer.abort()
        raise
    if length is not None and writer.size != length:
        writer.abort()
        raise SwiftError(499)
    return writer


def post_object(ctx: Ctx) -> Response:
    ctx.require("write")
    record = load(ctx)
    meta, _, expires = object_meta(ctx, record.name)
    if "x-static-large-object" in record.meta:  # a DLO stays one only if the POST says so
        meta["x-static-large-object"] = record.meta["x-static-large-object"]
    meta.update({k: v for k, v in record.meta.items() if k.startswith("x-object-sysmeta-")})
    record.meta = meta
    if "content-type" in ctx.headers:
        record.content_type = ctx.headers["content-type"]
    record.delete_at = expires
    record.timestamp = time.time()  # a POST moves Last-Modified, as in Swift
    ctx.store.put_object(ctx.account, record)
    return swift_response(202, None, method="POST")


def delete_object(ctx: Ctx) -> Response:
    ctx.require("write")
    if_delete_at = ctx.headers.get("x-if-delete-at")
    if if_delete_at is not None and not if_delete_at.isdigit():
        raise SwiftError(400, "Bad X-If-Delete-At header value")
    if if_delete_at is None and ctx.query.get("multipart-manifest") != "delete":
        versioned = delete_versioned(ctx)
        if versioned is not None:
            return versioned
    record = load(ctx)
    if if_delete_at is not None and (
        record.delete_at is None or int(if_delete_at) != int(record.delete_at)
    ):
        raise SwiftError(412, "X-If-Delete-At and X-Delete-At do not match")
    if ctx.query.get("multipart-manifest") == "delete" and record.is_slo:
        return delete_slo(ctx, record)
    ctx.store.delete_object(ctx.account, ctx.container or "", ctx.obj or "")
    return swift_response(204, None, method="DELETE")
