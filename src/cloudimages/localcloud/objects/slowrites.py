"""Static Large Object writes: manifest PUT (with heartbeats), storing, manifest DELETE."""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse

from .context import Ctx
from .http import REASONS, SwiftError, http_date, swift_response, trans_id
from .largeobjects import build_slo, split_segment_path
from .limits import SLO_MAX_MANIFEST_SIZE
from .reports import report_body, report_format
from .store import ObjectRecord
from .versioning import archive_current


def created(ctx: Ctx, etag: str, timestamp: float, extra: dict[str, str] | None = None) -> Response:
    headers = {"Etag": etag, "Last-Modified": http_date(timestamp)}
    headers.update(extra or {})
    return swift_response(201, None, headers, method="PUT")


async def put_slo(
    ctx: Ctx, length: int | None, meta: dict[str, str], ctype: str, expires: float | None
) -> Response:
    if length is not None and length > SLO_MAX_MANIFEST_SIZE:
        raise SwiftError(413, f"Manifest File > {SLO_MAX_MANIFEST_SIZE} bytes")
    body = b""
    try:
        async for chunk in ctx.request.stream():
            body += chunk
            if len(body) > SLO_MAX_MANIFEST_SIZE:
                raise SwiftError(413, f"Manifest File > {SLO_MAX_MANIFEST_SIZE} bytes")
    except ClientDisconnect:
        raise SwiftError(499) from None
    template = ObjectRecord(
        ctx.container or "", ctx.obj or "", None, 0, "", ctype, 0.0, meta, expires
    )
    if ctx.query.get("heartbeat", "").lower() in ("on", "true", "1", "yes"):
        return _heartbeat_put(ctx, body, template)
    manifest, slo_etag, total = build_slo(ctx, body)
    expected = ctx.headers.get("etag", "").strip('"').lower()
    if expected and expected != slo_etag:
        raise SwiftError(422)
    return store_slo(ctx, template, manifest, slo_etag=slo_etag, total=total)


def _heartbeat_put(ctx: Ctx, body: bytes, template: ObjectRecord) -> Response:
    """``heartbeat=on``: 202 at once, then the outcome as a report in the body."""
    media = report_format(ctx.headers.get("accept"))
    errors: list[list[str]] = []
    try:
        manifest, slo_etag, total = build_slo(ctx, body)
        expected = ctx.headers.get("etag", "").strip('"').lower()
        if expected and expected != slo_etag:
            raise SwiftError(422)
        stored = store_slo(ctx, template, manifest, slo_etag=slo_etag, total=total)
        data = {
            "Response Status": "201 Created",
            "Response Body": "",
            "Etag": stored.headers["etag"],
            "Last Modified": stored.headers["last-modified"],
        }
    except SwiftError as err:
        errors = getattr(err, "problems", [])
        reason, explanation = REASONS.get(err.status, ("", ""))
        shown = f"{reason}\n{explanation}" if errors or not err.body else err.body
        data = {"Response Status": f"{err.status} {reason}", "Response Body": shown}
    report = report_body(media, data, errors, "upload")
    headers = {"Content-Type": media, "X-Trans-Id": trans_id()}
    headers["X-Openstack-Request-Id"] = headers["X-Trans-Id"]
    # chunked, a space first: what a client sees while Swift validates a large manifest
    return StreamingResponse(iter([b" ", b"\r\n\r\n" + report]), 202, headers)


def store_slo(
    ctx: Ctx,
    template: ObjectRecord,
    manifest: list[dict[str, Any]],
    *,
    slo_etag: str,
    total: int,
    account: str | None = None,
) -> Response:
    """Store a validated SLO manifest under the name and headers of ``template``."""
    blob, manifest_etag, size = ctx.store.blobs.write_bytes(json.dumps(manifest).encode())
    meta = dict(template.meta)
    meta.update(
        {
            "x-static-large-object": "True",
            "x-object-sysmeta-slo-etag": slo_etag,
            "x-object-sysmeta-slo-size": str(total),
            "x-object-sysmeta-manifest-etag": manifest_etag,
        }
    )
    record = ObjectRecord(
        template.container,
        template.name,
        blob,
        size,
        manifest_etag,
        template.content_type,
        time.time(),
        meta,
        template.delete_at,
    )
    archive_current(ctx, account or ctx.account, record.container, record.name)
    ctx.store.put_object(account or ctx.account, record)
    return created(ctx, f'"{slo_etag}"', record.timestamp)


def delete_slo(ctx: Ctx, record: ObjectRecord) -> Response:
    assert record.blob is not None
    manifest = json.loads(ctx.store.blobs.read_bytes(record.blob))
    deleted, missing = 0, 0
    for seg in manifest:
        if "data" in seg:
            continue
        container, obj = split_segment_path(seg["name"])
        if ctx.store.delete_object(ctx.account, container, obj):
            deleted += 1
        else:
            missing += 1
    ctx.store.delete_object(ctx.account, record.container, record.name)
    deleted += 1
    result = {
        "Number Deleted": deleted,
        "Number Not Found": missing,
        "Response Body": "",
        "Response Status": "200 OK",
    }
    media = report_format(ctx.headers.get("accept"))
    return swift_response(200, report_body(media, result, [], "delete"), content_type=media)
