"""Account and container handlers: listings, metadata, create and delete."""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.responses import Response

from .access import parse_acl
from .containers import (
    MODIFIED,
    POLICY,
    SYSMETA,
    check_policy,
    container_feature_updates,
    container_modified,
    merged,
)
from .context import Ctx
from .http import (
    SwiftError,
    check_metadata,
    http_date,
    meta_updates,
    swift_response,
    title,
    x_timestamp,
)
from .limits import CONTAINER_LISTING_LIMIT
from .store import ContainerNotEmpty, ListingQuery


def listing_query(ctx: Ctx) -> ListingQuery:
    """Read listing parameters as Swift does: a limit that is not all digits is ignored."""
    q = ctx.query
    limit = CONTAINER_LISTING_LIMIT
    given = q.get("limit", "")
    if given.isdigit():
        limit = int(given)
        if limit > CONTAINER_LISTING_LIMIT:
            raise SwiftError(412, f"Maximum limit is {CONTAINER_LISTING_LIMIT}")
    return ListingQuery(
        prefix=q.get("prefix", ""),
        delimiter=q.get("delimiter", ""),
        marker=q.get("marker", ""),
        end_marker=q.get("end_marker", ""),
        limit=limit,
        reverse=q.get("reverse", "").lower() in ("1", "true", "yes", "on", "t", "y"),
        path=q.get("path") if ctx.container else None,
    )


def wants_json(ctx: Ctx) -> str:
    fmt = ctx.query.get("format", "").lower()
    if fmt in ("json", "xml", "plain"):
        return fmt
    accept = ctx.headers.get("accept", "")
    if "application/json" in accept:
        return "json"
    if "xml" in accept:
        return "xml"
    return "plain"


def _media(ctx: Ctx) -> str:
    """The listing's media type, also sent on HEAD."""
    kind = wants_json(ctx)
    return {"json": "application/json", "xml": "application/xml"}.get(kind, "text/plain") + (
        "; charset=utf-8"
    )


def render_listing(ctx: Ctx, items: list[dict[str, Any]], headers: dict[str, str]) -> Response:
    fmt = wants_json(ctx)
    if fmt == "json":
        body, ctype = json.dumps(items).encode(), "application/json; charset=utf-8"
    elif fmt == "xml":
        body, ctype = _xml(ctx, items), "application/xml; charset=utf-8"
    else:
        names = [i.get("name", i.get("subdir", "")) for i in items]
        body = "".join(f"{n}\n" for n in names).encode()
        ctype = "text/plain; charset=utf-8"
    status = 200 if body else 204
    return swift_response(status, body, headers, method=ctx.method, content_type=ctype)


_XML_FIELDS = {
    "object": ("name", "hash", "bytes", "content_type", "last_modified"),
    "container": ("name", "count", "bytes", "last_modified", "storage_policy"),
}


def _xml(ctx: Ctx, items: list[dict[str, Any]]) -> bytes:
    from xml.sax.saxutils import escape

    kind, root = ("container", ctx.container) if ctx.container else ("account", ctx.account)
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<{kind} name="{escape(root or "")}">']
    for item in items:
        if "subdir" in item:
            name = escape(item["subdir"])
            parts.append(f'<subdir name="{name}"><name>{name}</name></subdir>')
            continue
        entry_tag = "object" if ctx.container else "container"
        keys = _XML_FIELDS[entry_tag]
        fields = "".join(f"<{k}>{escape(str(item[k]))}</{k}>" for k in keys if k in item)
        parts.append(f"<{entry_tag}>{fields}</{entry_tag}>")
    parts.append(f"</{kind}>")
    return "".join(parts).encode()


# accounts ---------------------------------------------------------------------
def account_headers(ctx: Ctx) -> dict[str, str]:
    meta, created = ctx.store.account_meta(ctx.account)
    containers, objects, used = ctx.store.account_stats(ctx.account)
    headers = {
        "X-Account-Container-Count": str(containers),
        "X-Account-Object-Count": str(objects),
        "X-Account-Bytes-Used": str(used),
        "X-Timestamp": x_timestamp(created),
        "X-Put-Timestamp": x_timestamp(created),
        "Accept-Ranges": "bytes",
    }
    headers.update({title(k): v for k, v in meta.items()})
    return headers


def account_request(ctx: Ctx) -> Response:
    if ctx.method in ("GET", "HEAD"):
        ctx.require_account_read()
        headers = account_headers(ctx)
        if ctx.method == "HEAD":
            return swift_response(204, None, headers, method="HEAD", content_type=_media(ctx))
        items = ctx.store.list_containers(ctx.account, listing_query(ctx))
        return render_listing(ctx, items, headers)
    ctx.require_owner()
    if ctx.method == "POST":
        updates = meta_updates(ctx.headers, "account")
        check_metadata(updates, "account")
        check_metadata(merged(ctx.store.account_meta(ctx.account)[0], updates), "account")
        ctx.store.update_account_meta(ctx.account, updates)
        return swift_response(204, None, method="POST")
    raise SwiftError(405)


# containers -------------------------------------------------------------------
def _container_meta_updates(ctx: Ctx) -> dict[str, str | None]:
    updates = meta_updates(ctx.headers, "container")
    check_metadata(updates, "container")
    existing = ctx.store.get_container(ctx.account, ctx.container or "")
    check_metadata(merged(existing.meta if existing else {}, updates), "container")
    for header in ("x-container-read", "x-container-write"):
        if header in ctx.headers:
            value = ctx.headers[header]
            parse_acl(value)
            updates[header] = value
        removal = "x-remove-" + header[2:]
        if removal in ctx.headers:
            updates[header] = None
    updates.update(container_feature_updates(ctx))
    updates[MODIFIED] = str(time.time())
    return updates


def container_headers(ctx: Ctx) -> dict[str, str]:
    record = ctx.store.get_container(ctx.account, ctx.container or "")
    if record is None:
        raise SwiftError(404)
    count, used = ctx.store.container_stats(ctx.account, record.name)
    modified = container_modified(record)
    headers = {
        "X-Container-Object-Count": str(count),
        "X-Container-Bytes-Used": str(used),
        "X-Timestamp": x_timestamp(record.created_at),
        "X-Put-Timestamp": x_timestamp(modified),
        "Last-Modified": http_date(modified),
        "X-Storage-Policy": POLICY,
        "Accept-Ranges": "bytes",
    }
    shown = {
        k: v
        for k, v in record.meta.items()
        if not k.startswith(SYSMETA)
        and (
            ctx.is_owner
            or not k.startswith("x-container-")
            or (k.startswith("x-container-meta-") and "temp-url-key" not in k)
        )
    }
    headers.update({title(k): v for k, v in shown.items()})
    return headers


def container_request(ctx: Ctx) -> Response:
    method = ctx.method
    if method in ("GET", "HEAD"):
        ctx.require("list")
        headers = container_headers(ctx)
        if method == "HEAD":
            return swift_response(204, None, headers, method="HEAD", content_type=_media(ctx))
        items = ctx.store.list_objects(ctx.account, ctx.container or "", listing_query(ctx))
        return render_listing(ctx, items, headers)
    ctx.require_owner()
    name = ctx.container or ""
    if method == "PUT":
        check_policy(ctx.headers.get("x-storage-policy"))
        created = ctx.store.create_container(ctx.account, name, _container_meta_updates(ctx))
        return swift_response(201 if created else 202, None, method="PUT")
    if method == "POST":
        if ctx.store.get_container(ctx.account, name) is None:
            raise SwiftError(404)
        ctx.store.update_container_meta(ctx.account, name, _container_meta_updates(ctx))
        return swift_response(204, None, method="POST")
    if method == "DELETE":
        if ctx.store.get_container(ctx.account, name) is None:
            raise SwiftError(404)
        try:
            ctx.store.delete_container(ctx.account, name)
        except ContainerNotEmpty:
            raise SwiftError(409) from None
        return swift_response(204, None, method="DELETE")
    raise SwiftError(405)
