"""Server-side copy: ``PUT`` + ``X-Copy-From`` and ``COPY`` + ``Destination``.

Across accounts the caller needs read access to the source container and
write access to the destination one, as Swift's ACLs grant them.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote, unquote

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from .containers import check_quota
from .context import Ctx, check_container_name, check_object_name
from .http import REASONS, SwiftError, header_text, http_date
from .largeobjects import ManifestProblems, Piece, resolve, split_segment_path, sub_pieces
from .limits import MAX_FILE_SIZE
from .ranges import parse_ranges, ranges_for_length
from .reads import check_conditions
from .slowrites import created, store_slo
from .store import ObjectRecord
from .versioning import archive_current
from .writes import content_length, object_meta


def _split(path: str, header: str) -> tuple[str, str]:
    container, _, obj = unquote(header_text(path)).lstrip("/").partition("/")
    if not container or not obj:
        msg = f"{header} header must be of the form <container name>/<object name>"
        raise SwiftError(412, msg)
    check_container_name(container)
    check_object_name(obj)
    return container, obj


async def copy_request(ctx: Ctx) -> Response:
    """The ``COPY`` verb: turn it into a copying PUT at the destination."""
    destination = ctx.headers.get("destination")
    if not destination:
        raise SwiftError(412, "You must provide a Destination header")
    dst_container, dst_obj = _split(destination, "Destination")
    dst_account = header_text(ctx.headers.get("destination-account", ctx.account))
    src = (ctx.account, ctx.container or "", ctx.obj or "")
    return await copy_object(ctx, src, (dst_account, dst_container, dst_obj))


async def put_with_copy_from(ctx: Ctx) -> Response:
    length = ctx.headers.get("content-length")
    if length not in (None, "0"):
        raise SwiftError(400, "Copy requests require a zero byte body")
    src_container, src_obj = _split(ctx.headers["x-copy-from"], "X-Copy-From")
    src_account = header_text(ctx.headers.get("x-copy-from-account", ctx.account))
    dst = (ctx.account, ctx.container or "", ctx.obj or "")
    return await copy_object(ctx, (src_account, src_container, src_obj), dst)


async def copy_object(ctx: Ctx, src: tuple[str, str, str], dst: tuple[str, str, str]) -> Response:
    src_account, src_container, src_obj = src
    dst_account, dst_container, dst_obj = dst
    ctx.require("read", src_container, src_account)  # the source first, as Swift's GET
    source = ctx.store.get_object(src_account, src_container, src_obj)
    if source is None:
        raise SwiftError(404)
    ctx.require("write", dst_container, dst_account)
    if ctx.store.get_container(dst_account, dst_container) is None:
        raise SwiftError(404)
    meta, _, expires = object_meta(ctx, dst_obj)
    fresh = ctx.headers.get("x-fresh-metadata", "").lower() in ("true", "1", "yes", "on")
    if not fresh:
        meta = {
            **{
                k: v
                for k, v in source.meta.items()
                if not k.startswith("x-object-sysmeta-") and k not in ("x-static-large-object",)
            },
            **meta,
        }
    ctype = ctx.headers.get("content-type") or source.content_type
    extra = {
        "X-Copied-From": quote(f"{src_container}/{src_obj}"),
        "X-Copied-From-Last-Modified": http_date(source.timestamp),
    }
    extra["X-Copied-From-Account"] = quote(src_account)
    manifest_copy = ctx.query.get("multipart-manifest") == "get"
    if manifest_copy and source.is_slo and source.blob:
        manifest = json.loads(ctx.store.blobs.read_bytes(source.blob))
        if dst_account != src_account:
            _check_segments_in(ctx, dst_account, manifest)
        slo_etag = source.meta.get("x-object-sysmeta-slo-etag", "")
        total = int(source.meta.get("x-object-sysmeta-slo-size", "0"))
        template = ObjectRecord(dst_container, dst_obj, None, 0, "", ctype, 0.0, meta, expires)
        response = store_slo(
            ctx, template, manifest, slo_etag=slo_etag, total=total, account=dst_account
        )
        response.headers.update(extra)
        return response
    if manifest_copy and source.dlo_manifest is not None:
        meta["x-object-manifest"] = source.dlo_manifest
    elif "x-object-manifest" in meta and "x-object-manifest" not in ctx.headers:
        meta.pop("x-object-manifest")
    if manifest_copy and source.dlo_manifest is not None:  # the manifest's own body
        resolved_pieces = [Piece(source.blob, 0, source.size)] if source.blob else []
        length = source.size
    else:
        resolved = resolve(ctx, src_account, source)
        check_conditions(ctx, resolved.etag, source.timestamp, {})
        resolved_pieces, length = _ranged(ctx, resolved.pieces, resolved.length)
    if length > MAX_FILE_SIZE:
        raise SwiftError(413, "Your request is too large.")
    template = ObjectRecord(dst_container, dst_obj, None, 0, "", ctype, 0.0, meta, expires)
    destination = ctx.store.get_container(dst_account, dst_container)
    if destination is not None:
        check_quota(ctx, destination, length, 1)
    record = await run_in_threadpool(_write_copy, ctx, resolved_pieces, template)
    archive_current(ctx, dst_account, dst_container, dst_obj)
    ctx.store.put_object(dst_account, record)
    return created(ctx, record.etag, record.timestamp, extra)


def _ranged(ctx: Ctx, pieces: list[Piece], length: int) -> tuple[list[Piece], int]:
    """A copy with one satisfiable Range copies that part of the source, as in Swift."""
    specs = parse_ranges(ctx.headers.get("range"))
    if specs is None or length == 0:
        return pieces, length
    spans = ranges_for_length(specs, length)
    if not spans:
        raise SwiftError(416, None, headers={"Content-Range": f"bytes */{length}"})
    if len(spans) > 1:
        return pieces, length
    start, stop = spans[0]
    return sub_pieces(pieces, start, stop), stop - start


def _check_segments_in(ctx: Ctx, account: str, manifest: list[dict[str, Any]]) -> None:
    """A manifest copied to another account names segments in that account: they must be there."""
    problems = []
    for seg in manifest:
        if "data" in seg:
            continue
        container, obj = split_segment_path(seg["name"])
        try:
            ctx.require("read", container, account)
        except SwiftError as denied:
            problems.append([quote(seg["name"]), f"{denied.status} {REASONS[denied.status][0]}"])
            continue
        if ctx.store.get_object(account, container, obj) is None:
            problems.append([quote(seg["name"]), "404 Not Found"])
    if problems:
        raise ManifestProblems(problems)


def _write_copy(ctx: Ctx, pieces: list[Piece], template: ObjectRecord) -> ObjectRecord:
    """Concatenate the source's pieces into a new blob, off the event loop."""
    writer = ctx.store.blobs.writer()
    try:
        for piece in pieces:
            for chunk in piece.chunks(ctx.store.blobs, 0, piece.size):
                writer.write(chunk)
    except BaseException:
        writer.abort()
        raise
    template.blob = writer.commit()
    template.size, template.etag, template.timestamp = writer.size, writer.etag, time.time()
    return template


__all__ = ["content_length", "copy_request", "put_with_copy_from"]
