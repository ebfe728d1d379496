"""Temp URLs: which key signed the request, and what the URL may then reach.

A key set on the account (``X-Account-Meta-Temp-URL-Key``) signs URLs for any object of
the account, so a large object may pull segments from other containers; a container key
only reaches its own container.  Keys and paths are UTF-8 text, whatever bytes HTTP
carried them in.  Writes through a temp URL may not name other objects
(``X-Object-Manifest``, ``X-Copy-From``, ``X-Symlink-Target``): that would reach past
the signed path (CVE-2015-5223).
"""

from __future__ import annotations

from ..accounts import Accounts
from .access import TEMPURL_METHODS, check_tempurl
from .context import Ctx, decoded_path
from .http import SwiftError, header_text
from .store import ObjectStore

DISALLOWED_HEADERS = ("x-object-manifest", "x-symlink-target", "x-copy-from")
_INVALID = "401 Unauthorized: Temp URL invalid\n"


def authorize_tempurl(ctx: Ctx, store: ObjectStore, accounts: Accounts) -> None:
    """Check the signature; on success the request runs with the temp URL's rights only."""
    prefix = ctx.query.get("temp_url_prefix")
    if ctx.obj is None or ctx.method not in TEMPURL_METHODS:
        raise SwiftError(401, _INVALID)
    if prefix is not None and not ctx.obj.startswith(prefix):
        raise SwiftError(401, _INVALID)
    scope = check_tempurl(
        method=ctx.method,
        path=decoded_path(ctx.request),
        sig=ctx.query.get("temp_url_sig", ""),
        expires=ctx.query.get("temp_url_expires", ""),
        keys=tempurl_keys(store, accounts, ctx.account, ctx.container or ""),
        prefix=prefix,
    )
    if ctx.method not in ("GET", "HEAD"):
        for header in DISALLOWED_HEADERS:
            if header in ctx.headers:
                name = "-".join(p.capitalize() for p in header.split("-"))
                raise SwiftError(400, f"The header {name!r} is not allowed in this tempurl")
    ctx.tempurl_ok = True
    ctx.tempurl_scope = scope
    ctx.caller = None


def tempurl_keys(
    store: ObjectStore, accounts: Accounts, account: str, container: str
) -> list[tuple[str, str]]:
    """(key, scope) pairs: the account's two keys, then the container's two."""
    if accounts.by_storage_account(account) is None:
        return []
    meta, _ = store.account_meta(account)
    keys = [(meta.get(f"x-account-meta-temp-url-key{suffix}"), "account") for suffix in ("", "-2")]
    record = store.get_container(account, container)
    if record is not None:
        keys += [
            (record.meta.get(f"x-container-meta-temp-url-key{suffix}"), "container")
            for suffix in ("", "-2")
        ]
    return [(header_text(key), scope) for key, scope in keys if key]
