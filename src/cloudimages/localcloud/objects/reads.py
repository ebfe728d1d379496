"""Object GET and HEAD: ranges, conditional requests and large objects."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from starlette.responses import Response, StreamingResponse

from .context import Ctx
from .http import SwiftError, http_date, public_meta_headers, swift_response, trans_id, x_timestamp
from .largeobjects import Piece, Resolved, raw_manifest, resolve
from .store import ObjectRecord

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


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
    record = load(ctx)
    headers = object_headers(record)
    if ctx.query.get("multipart-manifest") == "get" and (record.is_slo or record.dlo_manifest):
        return _manifest_response(ctx, record, headers)
    resolved = resolve(ctx, ctx.account, record)
    headers["Etag"] = resolved.etag
    if record.is_slo:
        headers["X-Static-Large-Object"] = "True"
    _check_conditions(ctx, resolved.etag, record.timestamp, headers)
    if ctx.tempurl_ok and ctx.method == "GET":
        _tempurl_disposition(ctx, headers)
    return _body_response(ctx, resolved, headers)


def _manifest_response(ctx: Ctx, record: ObjectRecord, headers: dict[str, str]) -> Response:
    if record.dlo_manifest is not None or record.blob is None:
        return _body_response(ctx, Resolved([], 0, record.etag), headers)
    body = ctx.store.blobs.read_bytes(record.blob)
    if ctx.query.get("format") == "raw":
        body = json.dumps(raw_manifest(json.loads(body))).encode()
    headers.update(
        {"Content-Type": "application/json; charset=utf-8", "X-Static-Large-Object": "True"}
    )
    headers["Etag"] = record.etag
    return swift_response(
        200, body, headers, method=ctx.method, content_type=headers["Content-Type"]
    )


def _check_conditions(ctx: Ctx, etag: str, timestamp: float, headers: dict[str, str]) -> None:
    bare = etag.strip('"')
    if_match = ctx.headers.get("if-match")
    if if_match and if_match.strip() != "*" and bare not in _etags(if_match):
        raise SwiftError(412, None, headers={"Etag": etag})
    if_none = ctx.headers.get("if-none-match")
    if if_none and (if_none.strip() == "*" or bare in _etags(if_none)):
        raise SwiftError(304, "", headers={"Etag": etag, "Last-Modified": headers["Last-Modified"]})


def _etags(value: str) -> set[str]:
    return {v.strip().strip('"') for v in value.split(",")}


def _tempurl_disposition(ctx: Ctx, headers: dict[str, str]) -> None:
    name = ctx.query.get("filename") or (ctx.obj or "").rsplit("/", 1)[-1]
    safe = name.replace('"', '\\"')
    kind = "inline" if "inline" in ctx.query else "attachment"
    headers["Content-Disposition"] = (
        f'{kind}; filename="{safe}"' if kind == "attachment" or ctx.query.get("filename") else kind
    )


def parse_range(value: str | None, length: int) -> tuple[int, int] | None:
    """One byte range as [start, stop), None to serve everything, 416 if unsatisfiable."""
    if not value:
        return None
    specs = value.replace(" ", "")
    if "," in specs:
        return None
    match = _RANGE.match(specs)
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if first and last and int(last) < int(first):
        return None
    if not first:
        suffix = int(last)
        if suffix == 0 or length == 0:
            raise _unsatisfiable(length)
        return max(0, length - suffix), length
    start = int(first)
    if start >= length:
        raise _unsatisfiable(length)
    stop = min(length, int(last) + 1) if last else length
    return start, stop


def _unsatisfiable(length: int) -> SwiftError:
    return SwiftError(416, None, headers={"Content-Range": f"bytes */{length}"})


def _body_response(ctx: Ctx, resolved: Resolved, headers: dict[str, str]) -> Response:
    span = parse_range(ctx.headers.get("range"), resolved.length)
    status, start, stop = 200, 0, resolved.length
    if span is not None:
        status, (start, stop) = 206, span
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{resolved.length}"
    headers["Content-Length"] = str(stop - start)
    tid = trans_id()
    headers["X-Trans-Id"] = headers["X-Openstack-Request-Id"] = tid
    if ctx.method == "HEAD":
        return swift_response(
            status, None, headers, method="HEAD", content_type=headers["Content-Type"]
        )
    return StreamingResponse(
        _stream(ctx, resolved.pieces, start, stop), status_code=status, headers=headers
    )


def _stream(ctx: Ctx, pieces: list[Piece], start: int, stop: int) -> Iterator[bytes]:
    offset = 0
    for piece in pieces:
        a, b = max(start, offset), min(stop, offset + piece.size)
        if a < b:
            yield from ctx.store.blobs.iter_range(
                piece.blob, piece.start + a - offset, piece.start + b - offset
            )
        offset += piece.size
