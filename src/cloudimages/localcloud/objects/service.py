"""Cloud Files for one region: an ASGI app speaking the Swift v1 API."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..accounts import Accounts
from ..identity import Identity
from . import limits
from .access import TEMPURL_DIGESTS, TEMPURL_METHODS
from .bulk import bulk_delete, extract_archive
from .context import Ctx, decoded_path, parse_query, split_path
from .copy import copy_request, put_with_copy_from
from .cors import add_cors_headers, preflight
from .http import SwiftError, swift_response
from .listings import account_request, container_request
from .reads import get_object
from .store import ObjectStore
from .tempurls import authorize_tempurl
from .writes import delete_object, post_object, put_object

log = logging.getLogger(__name__)


def capabilities() -> dict[str, Any]:
    """What ``GET /info`` advertises: the features clients look for."""
    return {
        "swift": {
            "version": "2.38.3",
            "max_file_size": limits.MAX_FILE_SIZE,
            "max_meta_name_length": limits.MAX_META_NAME_LENGTH,
            "max_meta_value_length": limits.MAX_META_VALUE_LENGTH,
            "max_meta_count": limits.MAX_META_COUNT,
            "max_meta_overall_size": limits.MAX_META_OVERALL_SIZE,
            "max_header_size": limits.MAX_HEADER_SIZE,
            "max_object_name_length": limits.MAX_OBJECT_NAME_LENGTH,
            "max_container_name_length": limits.MAX_CONTAINER_NAME_LENGTH,
            "max_account_name_length": limits.MAX_ACCOUNT_NAME_LENGTH,
            "container_listing_limit": limits.CONTAINER_LISTING_LIMIT,
            "account_listing_limit": limits.ACCOUNT_LISTING_LIMIT,
            "extra_header_count": limits.EXTRA_HEADER_COUNT,
            "strict_cors_mode": True,
            "policies": [{"name": "Policy-0", "default": True}],
        },
        "slo": {
            "max_manifest_segments": limits.SLO_MAX_MANIFEST_SEGMENTS,
            "max_manifest_size": limits.SLO_MAX_MANIFEST_SIZE,
            "min_segment_size": limits.SLO_MIN_SEGMENT_SIZE,
            "yield_frequency": 10,
            "allow_async_delete": False,
        },
        "tempurl": {
            "methods": list(TEMPURL_METHODS),
            "allowed_digests": list(TEMPURL_DIGESTS),
            "incoming_remove_headers": ["x-timestamp"],
            "incoming_allow_headers": [],
            "outgoing_remove_headers": ["x-object-meta-*"],
            "outgoing_allow_headers": ["x-object-meta-public-*"],
        },
        "dlo": {"max_segments": 10000},
        "versioned_writes": {"allowed_flags": ["x-versions-location", "x-history-location"]},
        "container_quotas": {},
        "bulk_delete": {"max_deletes_per_request": 10000, "max_failed_deletes": 1000},
        "bulk_upload": {"max_containers_per_extraction": 10000, "max_failed_extractions": 1000},
    }


async def bulk_request(ctx: Ctx) -> Response | None:
    """``?bulk-delete`` (POST or DELETE) and ``?extract-archive`` (PUT) at any level."""
    if "bulk-delete" in ctx.query and ctx.method in ("POST", "DELETE"):
        return await bulk_delete(ctx)
    if "extract-archive" in ctx.query and ctx.method == "PUT":
        return await extract_archive(ctx, ctx.query["extract-archive"])
    return None


def check_header_lines(request: Request) -> None:
    """Swift's server refuses a header line longer than ``max_header_size`` (8192 bytes)."""
    for name, value in request.scope["headers"]:
        if len(name) + 2 + len(value) > limits.MAX_HEADER_SIZE:
            raise SwiftError(400, "Header Line Too Long")


def check_transfer_encoding(value: str | None) -> None:
    """Only ``chunked`` is understood: 501 for a list of codings, 400 for another one."""
    if not value:
        return
    codings = [c.strip().lower() for c in value.split(",")]
    if len(codings) > 1:
        msg = "Unsupported Transfer-Coding header value specified in Transfer-Encoding header"
        raise SwiftError(501, msg)
    if codings[-1] != "chunked":
        raise SwiftError(400, "Invalid Transfer-Encoding header value")


def _realm(request: Request) -> str:
    """Swift's challenge names the account of the path, quoted as it came."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    parts = raw.split(b"?", 1)[0].split(b"/")
    account = parts[2].decode("latin-1") if len(parts) > 2 and parts[1] == b"v1" else "unknown"
    return f'Swift realm="{account}"'


class CloudFiles:
    """Serves one region's object store to the accounts of the local cloud."""

    def __init__(self, store: ObjectStore, identity: Identity, accounts: Accounts) -> None:
        self.store = store
        self.identity = identity
        self.accounts = accounts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        try:
            response = await self._handle(request)
        except SwiftError as err:
            if err.status == 401:
                err.headers.setdefault("Www-Authenticate", _realm(request))
            response = err.response(request.method)
        except Exception:
            log.exception("unexpected error on %s %s", request.method, request.url.path)
            response = swift_response(500, method=request.method)
        if request.headers.get("connection", "").lower() == "keep-alive":
            response.headers["Connection"] = "keep-alive"  # echoed, as Swift's server does
        await response(scope, receive, send)

    async def _handle(self, request: Request) -> Response:
        check_header_lines(request)
        check_transfer_encoding(request.headers.get("transfer-encoding"))
        path = request.url.path
        if path == "/info":
            if request.method not in ("GET", "HEAD"):
                raise SwiftError(405)
            body = json.dumps(capabilities())
            return swift_response(
                200, body, method=request.method, content_type="application/json; charset=UTF-8"
            )
        if path == "/healthcheck":
            return swift_response(200, "OK", method=request.method)
        if request.method == "OPTIONS":  # needs no token, as in Swift
            account, container, obj = split_path(decoded_path(request))
            level = "object" if obj else "container" if container else "account"
            return preflight(self.store, account, container, level, request.headers)
        ctx = self._context(request)
        response = await self._dispatch(ctx)
        origin = request.headers.get("origin")
        if origin:
            add_cors_headers(self.store, ctx.account, ctx.container, origin, response)
        return response

    def _context(self, request: Request) -> Ctx:
        account, container, obj = split_path(decoded_path(request))
        token = request.headers.get("x-auth-token") or request.headers.get("x-storage-token")
        ctx = Ctx(
            request=request,
            store=self.store,
            accounts=self.accounts,
            account=account,
            container=container,
            obj=obj,
            caller=self.identity.validate(token),
            token_sent=bool(token),
            query=parse_query(request.url.query),
        )
        if token and ctx.caller is None:
            raise SwiftError(401)
        if "temp_url_sig" in ctx.query:
            authorize_tempurl(ctx, self.store, self.accounts)
        if ctx.caller is not None and ctx.caller.storage_account == account:
            self.store.account_meta(account)  # auto-create on first use, as Swift does
        elif self.accounts.by_storage_account(account) is None and not ctx.tempurl_ok:
            raise ctx.denied()
        return ctx

    async def _dispatch(self, ctx: Ctx) -> Response:
        if ctx.caller is None and not ctx.tempurl_ok and ctx.container is None:
            raise SwiftError(401)
        bulk = await bulk_request(ctx)
        if bulk is not None:
            return bulk
        if ctx.container is None:
            return account_request(ctx)
        if ctx.obj is None:
            return container_request(ctx)
        method = ctx.method
        if method in ("GET", "HEAD"):
            return get_object(ctx)
        if method == "PUT":
            if "x-copy-from" in ctx.headers:
                return await put_with_copy_from(ctx)
            return await put_object(ctx)
        if method == "POST":
            return post_object(ctx)
        if method == "DELETE":
            return delete_object(ctx)
        if method == "COPY":
            return await copy_request(ctx)
        raise SwiftError(405)
