"""Rackspace Identity v2.0: API-key and password authentication, tokens, catalog.

Only what clients of Cloud Images and Cloud Files use is served: ``POST
/v2.0/tokens`` with ``RAX-KSKEY:apiKeyCredentials`` or ``passwordCredentials``,
and ``DELETE /v2.0/tokens/{id}`` to revoke. Tokens are kept in the database so
they outlive a restart, as real tokens outlive a service deploy. What stock clients
call beyond tokens (tenants, users, roles, sub-users) is in ``identity_directory.py``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .accounts import Account, Accounts
from .db import Database
from .subusers import role_documents


@dataclass(frozen=True)
class RegionEndpoints:
    """Where one region's services answer."""

    region: str
    images_url: str  # ends in /v2, no tenant, as Rackspace's catalog has it
    files_root: str  # scheme://host:port; the account path is appended per account


class IdentityFault(Exception):
    """An Identity error, rendered as ``{"<fault>": {"code": N, "message": ...}}``."""

    def __init__(self, status: int, fault: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.fault = fault
        self.message = message

    def response(self) -> JSONResponse:
        body = {self.fault: {"code": self.status, "message": self.message}}
        return JSONResponse(body, status_code=self.status)


def _bad_request(detail: str) -> IdentityFault:
    return IdentityFault(400, "badRequest", f"Invalid request body: {detail}")


_UNAUTHORIZED = IdentityFault(
    401, "unauthorized", "Unable to authenticate user with credentials provided."
)


def iso_millis(ts: float) -> str:
    """Identity's timestamp form: ISO-8601 UTC with milliseconds and ``Z``."""
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


class Identity:
    """Issues and checks tokens for the accounts of one local cloud."""

    def __init__(
        self,
        db: Database,
        accounts: Accounts,
        endpoints: list[RegionEndpoints],
        token_lifetime: float,
    ) -> None:
        self._db = db
        self._accounts = accounts
        self._endpoints = endpoints
        self.token_lifetime = token_lifetime

    def authenticate(self, body: bytes) -> dict[str, Any]:
        """Check credentials in an auth body and return the ``access`` document."""
        auth = _parse_auth(body)
        if "tenantId" in auth and "tenantName" in auth:
            raise _bad_request("tenantId and tenantName cannot both be given.")
        account, method = self._check_credentials(auth)
        tenant = auth.get("tenantId") or auth.get("tenantName")
        if tenant is not None and str(tenant) != account.tenant_id:
            raise _UNAUTHORIZED
        token = secrets.token_hex(16)
        expires = time.time() + self.token_lifetime
        with self._db.tx() as conn:
            conn.execute("DELETE FROM tokens WHERE expires_at < ?", (time.time(),))
            conn.execute("INSERT INTO tokens VALUES (?, ?, ?)", (token, account.username, expires))
        return self._access(account, token, expires, method)

    def _check_credentials(self, auth: dict[str, Any]) -> tuple[Account, str]:
        if "RAX-KSKEY:apiKeyCredentials" in auth:
            creds, secret_key, method = auth["RAX-KSKEY:apiKeyCredentials"], "apiKey", "APIKEY"
        elif "passwordCredentials" in auth:
            creds, secret_key, method = auth["passwordCredentials"], "password", "PASSWORD"
        else:
            raise _bad_request("unable to parse Auth data. Please review XML or JSON formatting.")
        if not isinstance(creds, dict) or not isinstance(creds.get("username"), str):
            raise _bad_request("username is required.")
        if not isinstance(creds.get(secret_key), str):
            raise _bad_request(f"{secret_key} is required.")
        account = self._accounts.by_username(creds["username"])
        expected = None
        if account is not None:
            expected = account.api_key if method == "APIKEY" else account.password
        if account is None or not secrets.compare_digest(str(expected), creds[secret_key]):
            raise _UNAUTHORIZED
        return account, method

    def validate(self, token: str | None) -> Account | None:
        """The account a token belongs to, or None when it is unknown or expired."""
        if not token:
            return None
        row = self._db.query_one("SELECT username, expires_at FROM tokens WHERE id = ?", (token,))
        if row is None or row["expires_at"] <= time.time():
            return None
        return self._accounts.by_username(row["username"])

    def expires_at(self, token: str) -> float | None:
        """When a token expires (None if it was never issued or is gone)."""
        row = self._db.query_one("SELECT expires_at FROM tokens WHERE id = ?", (token,))
        return float(row["expires_at"]) if row else None

    def revoke(self, token: str) -> bool:
        with self._db.tx() as conn:
            return conn.execute("DELETE FROM tokens WHERE id = ?", (token,)).rowcount > 0

    def _access(self, account: Account, token: str, expires: float, method: str) -> dict[str, Any]:
        tenant = {"id": account.tenant_id, "name": account.tenant_id}
        roles = [
            {"id": "3", "name": "identity:user-admin", "description": "User Admin Role."},
            {"id": "5", "name": "object-store:default", "tenantId": account.storage_account},
            {"id": "6", "name": "compute:default", "tenantId": account.tenant_id},
        ]
        if account.owner is not None:  # a sub-user: identity:default and its RBAC roles
            roles = role_documents(account)
        if account.is_admin:
            roles.append({"id": "900", "name": "localcloud:admin", "description": "Fault admin."})
        return {
            "access": {
                "token": {
                    "id": token,
                    "expires": iso_millis(expires),
                    "tenant": tenant,
                    "RAX-AUTH:authenticatedBy": [method],
                },
                "user": {
                    "id": _user_id(account.username),
                    "name": account.username,
                    "RAX-AUTH:defaultRegion": account.default_region,
                    "roles": roles,
                },
                "serviceCatalog": self._catalog(account),
            }
        }

    def _catalog(self, account: Account) -> list[dict[str, Any]]:
        images = [
            {"region": e.region, "tenantId": account.tenant_id, "publicURL": e.images_url}
            for e in self._endpoints
        ]
        files = []
        for e in self._endpoints:
            url = f"{e.files_root}/v1/{account.storage_account}"
            files.append(
                {
                    "region": e.region,
                    "tenantId": account.storage_account,
                    "publicURL": url,
                    "internalURL": url,
                }
            )
        return [
            {"name": "cloudImages", "type": "image", "endpoints": images},
            {"name": "cloudFiles", "type": "object-store", "endpoints": files},
        ]


def _user_id(username: str) -> str:
    return str(int(hashlib.sha256(username.encode()).hexdigest()[:8], 16) % 10_000_000)


def _parse_auth(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise _bad_request(
            "unable to parse Auth data. Please review XML or JSON formatting."
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("auth"), dict):
        raise _bad_request("unable to parse Auth data. Please review XML or JSON formatting.")
    auth: dict[str, Any] = doc["auth"]
    return auth


def identity_routes(identity: Identity) -> list[Route]:
    """The HTTP face of Identity."""

    async def tokens(request: Request) -> Response:
        try:
            return JSONResponse(identity.authenticate(await request.body()))
        except IdentityFault as fault:
            return fault.response()

    async def revoke(request: Request) -> Response:
        caller = identity.validate(request.headers.get("x-auth-token"))
        if caller is None:
            return _UNAUTHORIZED.response()
        token = request.path_params["token"]
        owner = identity.validate(token)
        if owner is None:
            return IdentityFault(404, "itemNotFound", "Token not found.").response()
        if owner.username != caller.username and not caller.is_admin:
            return IdentityFault(403, "forbidden", "Not authorized.").response()
        identity.revoke(token)
        return Response(status_code=204)

    return [
        Route("/v2.0/tokens", tokens, methods=["POST"]),
        Route("/v2.0/tokens/{token}", revoke, methods=["DELETE"]),
    ]
