"""Who may touch what: container ACLs and temp URL signatures.

A caller owns the Cloud Files account of its token. Anyone else gets in only
through ``X-Container-Read`` / ``X-Container-Write`` on the container, or a
valid temp URL. Local-cloud ACL principals are ``*``, a username, a tenant id
or storage account (the whole account), or ``<tenant>:<username>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime

from ..accounts import Account
from .http import SwiftError

TEMPURL_METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
TEMPURL_DIGESTS = ("sha1", "sha256", "sha512")


@dataclass(frozen=True)
class Acl:
    referrers: tuple[str, ...] = ()
    principals: tuple[str, ...] = ()
    listings: bool = False

    @property
    def public(self) -> bool:
        return any(r in ("*", "") or not r.startswith("-") for r in self.referrers)


def parse_acl(value: str | None) -> Acl:
    """Read a container ACL; 400 with Swift's wording when it is malformed."""
    referrers, principals, listings = [], [], False
    for raw in (value or "").split(","):
        item = raw.strip()
        if not item:
            continue
        if not item.startswith("."):
            principals.append(item)
            continue
        designator, _, host = item.partition(":")
        if designator == ".rlistings" and not host:
            listings = True
        elif designator in (".r", ".ref", ".referer", ".referrer"):
            if not host or host == "-":
                msg = f"No host/domain value after referrer designation in ACL: {item!r}"
                raise SwiftError(400, msg)
            referrers.append(host)
        else:
            raise SwiftError(400, f"Unknown designator {designator!r} in ACL: {item!r}")
    return Acl(tuple(referrers), tuple(principals), listings)


def principal_matches(acl: Acl, caller: Account) -> bool:
    names = {
        "*",
        "*:*",
        caller.username,
        caller.tenant_id,
        caller.storage_account,
        f"{caller.tenant_id}:*",
        f"{caller.storage_account}:*",
        f"{caller.tenant_id}:{caller.username}",
        f"{caller.storage_account}:{caller.username}",
        f"*:{caller.username}",
    }
    return any(p in names for p in acl.principals)


def check_tempurl(
    *,
    method: str,
    path: str,
    sig: str,
    expires: str,
    keys: list[tuple[str, str]],
    prefix: str | None = None,
) -> str:
    """The scope (``account`` or ``container``) of the key that signed a temp URL, else 401.

    The signed string is ``METHOD\\nEXPIRES\\nPATH`` with EXPIRES as epoch seconds (also
    when the URL gives ISO 8601) and PATH the object path, or ``prefix:`` and the path
    up to the prefix for a prefix URL.  A HEAD may use a signature for GET, POST or PUT.
    """
    deadline = _parse_expires(expires)
    if deadline is None or deadline < time.time():
        raise _invalid()
    digest, signature = _split_sig(sig)
    if digest is None or not keys:
        raise _invalid()
    if prefix is not None:
        container_path = "/".join(path.split("/", 4)[:4])
        signed_path = f"prefix:{container_path}/{prefix}"
    else:
        signed_path = path
    methods = ("HEAD", "GET", "POST", "PUT") if method == "HEAD" else (method,)
    for key, scope in keys:
        for signed_method in methods:
            body = f"{signed_method}\n{deadline}\n{signed_path}".encode()
            mac = hmac.new(key.encode(), body, getattr(hashlib, digest)).digest()
            if hmac.compare_digest(mac, signature):
                return scope
    raise _invalid()


def _invalid() -> SwiftError:
    return SwiftError(401, "401 Unauthorized: Temp URL invalid\n")


def _parse_expires(expires: str) -> int | None:
    try:
        return int(expires)
    except ValueError:
        pass
    try:
        return int(datetime.strptime(expires, "%Y-%m-%dT%H:%M:%SZ").timestamp())
    except ValueError:
        return None


def _split_sig(sig: str) -> tuple[str | None, bytes]:
    """Hex signatures name their digest by length; ``digest:base64`` names it outright."""
    if ":" in sig:
        digest, _, encoded = sig.partition(":")
        if digest not in TEMPURL_DIGESTS:
            return None, b""
        try:
            padded = encoded + "=" * (-len(encoded) % 4)
            return digest, base64.urlsafe_b64decode(padded)
        except (binascii.Error, ValueError):
            return None, b""
    by_length = {40: "sha1", 64: "sha256", 128: "sha512"}
    try:
        return by_length.get(len(sig)), bytes.fromhex(sig)
    except ValueError:
        return None, b""
