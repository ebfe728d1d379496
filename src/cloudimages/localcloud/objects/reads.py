"""Object GET and HEAD: ranges, conditional requests and large objects."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from email.utils import parsedate_to_datetime

from starlette.responses import Response, StreamingResponse

from .context import Ctx
from .http import (
    SwiftError,
    header_bytes,
    http_date,
    public_meta_headers,
    swift_response,
    trans_id,
    x_timestamp,
)
from .largeobjects import Piece, Resolved, raw_manifest, resolve
from .ranges import Multipart, parse_ranges, ranges_for_length
from .store import ObjectRecord


def load(ctx: Ctx) -> ObjectRecord:
    record = ctx.store.get_object(ctx.account, ctx.container or "", ctx.obj or "")
    if record is None:
        raise SwiftError(404)
    return record


def object_headers(record: ObjectRecord) -> dict[str, str]:
    headers = {
        "Content-Type": record.content_type,
        "Etag": record.etag,
        "Last-Modified": http_date(record.timestamp),
        "X-Timestamp": x_timestamp(record.timestamp),
        "Accept-Ranges": "bytes",
    }
    headers.update(public_meta_headers(record.meta))
    if record.delete_at is not None:
        headers["X-Delete-At"] = str(int(record.delete_at))
    return headers


def get_object(ctx: Ctx) -> Response:
    ctx.require("read")
    try:
        record = load(ctx)
    except SwiftError:
        if "*" in _etags(ctx.headers.get("if-match", "")):
            raise SwiftError(412) from None
        raise
    headers = object_headers(record)
    if ctx.query.get("multipart-manifest") == "get" and (record.is_slo or record.dlo_manifest):
        return _manifest_response(ctx, record, headers)
    resolved = resolve(ctx, ctx.account, record)
    headers["Etag"] = resolved.etag
    if record.is_slo:
        headers["X-Static-Large-Object"] = "True"
    check_conditions(ctx, resolved.etag, record.timestamp, headers)
    if ctx.tempurl_ok and ctx.method == "GET":
        _tempurl_disposition(ctx, headers)
    return _body_response(ctx, resolved, headers, multirange=record.dlo_manifest is None)


def _manifest_response(ctx: Ctx, record: ObjectRecord, headers: dict[str, str]) -> Response:
    if record.dlo_manifest is not None or record.blob is None:
        own = [Piece(record.blob, 0, record.size)] if record.blob and record.size else []
        return _body_response(ctx, Resolved(own, record.size, record.etag), headers)
    body = ctx.store.blobs.read_bytes(record.blob)
    headers["X-Static-Large-Object"] = "True"
    if ctx.query.get("format") == "raw":  # what a client PUTs; the object's own type
        body = json.dumps(raw_manifest(json.loads(body))).encode()
        headers["Etag"] = hashlib.md5(body, usedforsecurity=False).hexdigest()
    else:
        headers["Content-Type"] = "application/json; charset=utf-8"
        headers["Etag"] = record.etag
    return swift_response(
        200, body, headers, method=ctx.method, content_type=headers["Content-Type"]
    )


def check_conditions(ctx: Ctx, etag: str, timestamp: float, headers: dict[str, str]) -> None:
    """If-None-Match, If-Match, If-Modified-Since, If-Unmodified-Since, in Swift's order."""
    bare = etag.strip('"')
    if_none = ctx.headers.get("if-none-match")
    if if_none and (if_none.strip() == "*" or bare in _etags(if_none)):
        raise SwiftError(304, "", headers=headers)
    if_match = ctx.headers.get("if-match")
    if if_match and if_match.strip() != "*" and bare not in _etags(if_match):
        raise SwiftError(412, None, headers=headers)
    modified = math.ceil(timestamp)
    since = _http_time(ctx.headers.get("if-modified-since"))
    if since is not None and modified <= since:
        raise SwiftError(304, "", headers=headers)
    until = _http_time(ctx.headers.get("if-unmodified-since"))
    if until is not None and modified > until:
        raise SwiftError(412, None, headers=headers)


def _http_time(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def _etags(value: str) -> set[str]:
    return {v.strip().strip('"') for v in value.split(",")}


def _tempurl_disposition(ctx: Ctx, headers: dict[str, str]) -> None:
    name = ctx.query.get("filename") or (ctx.obj or "").rsplit("/", 1)[-1]
    safe = name.replace('"', '\\"')
    kind = "inline" if "inline" in ctx.query else "attachment"
    value = (
        f'{kind}; filename="{safe}"' if kind == "attachment" or ctx.query.get("filename") else kind
    )
    headers["Content-Disposition"] = header_bytes(value)


def _body_response(
    ctx: Ctx, resolved: Resolved, headers: dict[str, str], *, multirange: bool = True
) -> Response:
    """200, 206 (one range or ``multipart/byteranges``) or 416; a DLO serves one range only."""
    status, start, stop, multipart = 200, 0, resolved.length, None
    specs = parse_ranges(ctx.headers.get("range"))
    if specs is not None and len(specs) > 1 and not multirange:
        specs = None
    if specs is not None:
        spans = ranges_for_length(specs, resolved.length)
        if not spans:
            headers["Content-Range"] = f"bytes */{resolved.length}"
            raise SwiftError(416, None, headers=headers)
        if resolved.length == 0:
            pass  # a suffix range of an empty object: Swift serves the (empty) whole
        elif len(spans) == 1:
            status, (start, stop) = 206, spans[0]
            headers["Content-Range"] = f"bytes {start}-{stop - 1}/{resolved.length}"
        else:
            status = 206
            multipart = Multipart(spans, resolved.length, headers["Content-Type"])
            headers["Content-Type"] = multipart.media_type
    headers["Content-Length"] = str(multipart.size if multipart else stop - start)
    tid = trans_id()
    headers["X-Trans-Id"] = headers["X-Openstack-Request-Id"] = tid
    if ctx.method == "HEAD":
        return swift_response(
            status, None, headers, method="HEAD", content_type=headers["Content-Type"]
        )
    if multipart is not None:
        body = multipart.body(lambda a, b: _stream(ctx, resolved.pieces, a, b))
    else:
        body = _stream(ctx, resolved.pieces, start, stop)
    return StreamingResponse(body, status_code=status, headers=headers)


def _stream(ctx: Ctx, pieces: list[Piece], start: int, stop: int) -> Iterator[bytes]:
    offset = 0
    for piece in pieces:
        a, b = max(start, offset), min(stop, offset + piece.size)
        if a < b:
            yield from piece.chunks(ctx.store.blobs, a - offset, b - offset)
        offset += piece.size
