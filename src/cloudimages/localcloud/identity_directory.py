"""Identity v2.0 beyond tokens: what stock OpenStack clients call with a v2.0 token.

keystoneauth's discovery reads the version document (``GET /v2.0``); python-openstackclient
and openstacksdk list tenants, users and roles, look them up and manage sub-users.  Every
route answers as Rackspace Identity does: data the caller may see, or 403 (never 404 for a
route that exists).  Only the account owner manages its sub-users; nobody sees another
account's users or tenants.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .accounts import Account, Accounts
from .identity import Identity, IdentityFault, iso_millis
from .subusers import ASSIGNABLE_ROLES, ROLES_BY_ID, SubUserError, role_documents, user_id

_FORBIDDEN = IdentityFault(403, "forbidden", "Not Authorized")
_UNAUTHORIZED = IdentityFault(
    401,
    "unauthorized",
    "No valid token provided. Please use the 'X-Auth-Token' header with a valid token.",
)
_EXTENSIONS = (
    ("RAX-KSKEY", "Rackspace API Key Authentication Extension"),
    ("OS-KSADM", "OpenStack Keystone Admin"),
    ("RAX-AUTH", "Rackspace Extended Authentication"),
)
Handler = Callable[[Request, Account], Awaitable[Response]]


def version_document(request: Request) -> dict[str, Any]:
    """The v2.0 version document keystoneauth's discovery reads."""
    base = str(request.base_url).rstrip("/")
    return {
        "version": {
            "id": "v2.0",
            "status": "stable",
            "updated": "2014-04-17T00:00:00Z",
            "links": [{"rel": "self", "href": f"{base}/v2.0/"}],
            "media-types": [
                {"base": "application/json", "type": "application/vnd.openstack.identity-v2.0+json"}
            ],
        }
    }


def user_document(account: Account) -> dict[str, Any]:
    return {
        "id": user_id(account.username),
        "username": account.username,
        "name": account.username,
        "enabled": True,
        "email": f"{account.username}@example.com",
        "RAX-AUTH:defaultRegion": account.default_region,
        "RAX-AUTH:domainId": account.tenant_id,
    }


def tenant_documents(account: Account) -> list[dict[str, Any]]:
    """The two tenants of a Rackspace account: the account number and the Cloud Files one."""
    return [
        {"id": tenant, "name": tenant, "enabled": True, "description": None}
        for tenant in (account.tenant_id, account.storage_account)
    ]


class Directory:
    """Users, tenants and roles of the local cloud's accounts, as the token's user sees them."""

    def __init__(self, identity: Identity, accounts: Accounts) -> None:
        self.identity = identity
        self.accounts = accounts

    def visible_users(self, caller: Account) -> list[Account]:
        """The owner sees itself and its sub-users; a sub-user sees itself."""
        if caller.owner is not None:
            return [caller]
        names = self.accounts.subusers.of_owner(caller.username)
        found = [self.accounts.by_username(n) for n in names]
        return [caller, *(a for a in found if a is not None)]

    def user(self, caller: Account, uid: str) -> Account:
        """A user by id: 403 when it is not one the caller may see (or does not exist)."""
        match = next((u for u in self.visible_users(caller) if user_id(u.username) == uid), None)
        if match is None:
            raise _FORBIDDEN
        return match

    def managed_subuser(self, caller: Account, uid: str) -> Account:
        """A sub-user the caller owns; 403 for anything else (itself included)."""
        target = self.user(caller, uid)
        if caller.owner is not None or target.owner is None:
            raise _FORBIDDEN
        return target


class DirectoryApi:
    """The handlers; each takes the request and the token's user."""

    def __init__(self, identity: Identity, accounts: Accounts) -> None:
        self.identity = identity
        self.accounts = accounts
        self.directory = Directory(identity, accounts)

    async def version(self, request: Request) -> Response:
        return JSONResponse(version_document(request))

    async def tenants(self, request: Request, caller: Account) -> Response:
        return JSONResponse({"tenants": tenant_documents(caller), "tenants_links": []})

    async def forbidden(self, request: Request, caller: Account) -> Response:
        raise _FORBIDDEN

    async def tenant(self, request: Request, caller: Account) -> Response:
        """One of the caller's own tenants (``project show``); anyone else's is 403."""
        wanted = request.path_params["tenant"]
        match = next((t for t in tenant_documents(caller) if t["id"] == wanted), None)
        if match is None:
            raise _FORBIDDEN
        return JSONResponse({"tenant": match})

    async def list_users(self, request: Request, caller: Account) -> Response:
        users = self.directory.visible_users(caller)
        name = request.query_params.get("name")
        if name is not None:
            match = next((u for u in users if u.username == name), None)
            if match is None:
                raise _FORBIDDEN
            return JSONResponse({"user": user_document(match)})
        return JSONResponse({"users": [user_document(u) for u in users]})

    async def show_user(self, request: Request, caller: Account) -> Response:
        target = self.directory.user(caller, request.path_params["uid"])
        return JSONResponse({"user": user_document(target)})

    async def create_user(self, request: Request, caller: Account) -> Response:
        if caller.owner is not None:
            raise _FORBIDDEN
        spec = _user_body(await request.body())
        password = spec.get("OS-KSADM:password")
        self.accounts.subusers.create(caller, spec["username"], password)
        created = self.accounts.by_username(spec["username"])
        assert created is not None
        doc = user_document(created)
        if password:
            doc["OS-KSADM:password"] = password
        return JSONResponse({"user": doc}, status_code=201)

    async def delete_user(self, request: Request, caller: Account) -> Response:
        target = self.directory.managed_subuser(caller, request.path_params["uid"])
        self.accounts.subusers.delete(target.username)
        return Response(status_code=204)

    async def user_roles(self, request: Request, caller: Account) -> Response:
        target = self.directory.user(caller, request.path_params["uid"])
        return JSONResponse({"roles": role_documents(target), "roles_links": []})

    async def tenant_user_roles(self, request: Request, caller: Account) -> Response:
        if request.path_params["tenant"] not in (caller.tenant_id, caller.storage_account):
            raise _FORBIDDEN
        return await self.user_roles(request, caller)

    async def grant(self, request: Request, caller: Account) -> Response:
        target = self.directory.managed_subuser(caller, request.path_params["uid"])
        role = ROLES_BY_ID.get(request.path_params["rid"])
        if role is None:
            raise IdentityFault(404, "itemNotFound", "Role not found")
        granted = request.method == "PUT"
        self.accounts.subusers.set_role(target.username, role.name, granted=granted)
        return Response(status_code=200 if granted else 204)

    async def roles(self, request: Request, caller: Account) -> Response:
        docs = [
            {"id": r.id, "name": r.name, "description": r.description} for r in ASSIGNABLE_ROLES
        ]
        return JSONResponse({"roles": docs, "roles_links": []})

    async def credentials(self, request: Request, caller: Account) -> Response:
        target = self.directory.user(caller, request.path_params["uid"])
        if target.username != caller.username and caller.owner is not None:
            raise _FORBIDDEN
        creds = {"username": target.username, "apiKey": target.api_key}
        if request.url.path.endswith("apiKeyCredentials"):
            return JSONResponse({"RAX-KSKEY:apiKeyCredentials": creds})
        return JSONResponse({"credentials": [{"RAX-KSKEY:apiKeyCredentials": creds}]})

    async def extensions(self, request: Request) -> Response:
        values = [
            {"alias": alias, "name": name, "namespace": "", "updated": "2013-01-01T00:00:00Z"}
            for alias, name in _EXTENSIONS
        ]
        return JSONResponse({"extensions": {"values": values}})

    async def validate_token(self, request: Request, caller: Account) -> Response:
        """Token validation is for Identity administrators; others get 403."""
        if not caller.is_admin:
            raise _FORBIDDEN
        token_id = request.path_params["token"]
        owner, expires = self.identity.validate(token_id), self.identity.expires_at(token_id)
        if owner is None or expires is None:
            raise IdentityFault(404, "itemNotFound", "Token not found.")
        token = {"id": token_id, "expires": iso_millis(expires)}
        return JSONResponse({"access": {"token": token, "user": user_document(owner)}})


def _authed(identity: Identity, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Resolve the token's user first (401 without one), and render Identity faults."""

    async def endpoint(request: Request) -> Response:
        caller = identity.validate(request.headers.get("x-auth-token"))
        try:
            if caller is None:
                raise _UNAUTHORIZED
            return await handler(request, caller)
        except IdentityFault as fault:
            return fault.response()
        except SubUserError as err:
            return IdentityFault(err.status, err.fault, err.message).response()

    return endpoint


def directory_routes(identity: Identity, accounts: Accounts) -> list[Route]:
    """The HTTP face of the directory (mounted beside ``identity_routes``)."""
    api = DirectoryApi(identity, accounts)

    def authed(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        return _authed(identity, handler)

    uid = "/v2.0/users/{uid}"
    return [
        Route("/v2.0", api.version, methods=["GET"]),
        Route("/v2.0/", api.version, methods=["GET"]),
        Route("/v2.0/tokens/{token}", authed(api.validate_token), methods=["GET", "HEAD"]),
        Route("/v2.0/tenants", authed(api.tenants), methods=["GET"]),
        Route("/v2.0/tenants/{tenant}", authed(api.tenant), methods=["GET"]),
        Route("/v2.0/tenants/{tenant}/users/{uid}/roles", authed(api.tenant_user_roles)),
        Route("/v2.0/users", authed(api.list_users), methods=["GET"]),
        Route("/v2.0/users", authed(api.create_user), methods=["POST"]),
        Route(uid, authed(api.show_user), methods=["GET"]),
        Route(uid, authed(api.delete_user), methods=["DELETE"]),
        Route(f"{uid}/roles", authed(api.user_roles), methods=["GET"]),
        Route(f"{uid}/roles/OS-KSADM/{{rid}}", authed(api.grant), methods=["PUT", "DELETE"]),
        Route(f"{uid}/OS-KSADM/credentials", authed(api.credentials), methods=["GET"]),
        Route(
            f"{uid}/OS-KSADM/credentials/RAX-KSKEY:apiKeyCredentials",
            authed(api.credentials),
            methods=["GET"],
        ),
        Route("/v2.0/OS-KSADM/roles", authed(api.roles), methods=["GET"]),
        Route("/v2.0/OS-KSADM/services", authed(api.forbidden), methods=["GET"]),
        Route("/v2.0/endpoints", authed(api.forbidden), methods=["GET"]),
        Route("/v2.0/extensions", api.extensions, methods=["GET"]),
    ]


def _user_body(body: bytes) -> dict[str, Any]:
    """``{"user": {...}}`` in Rackspace's spelling (``username``, ``OS-KSADM:password``) or
    Keystone's (``name``, ``password``), as python-keystoneclient sends it."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        doc = None
    user = doc.get("user") if isinstance(doc, dict) else None
    if not isinstance(user, dict):
        raise IdentityFault(400, "badRequest", "Invalid request body: user is required.")
    name = user.get("username", user.get("name"))
    password = user.get("OS-KSADM:password", user.get("password"))
    if not isinstance(name, str):
        raise IdentityFault(400, "badRequest", "Invalid request body: username is required.")
    if password is not None and not isinstance(password, str):
        raise IdentityFault(400, "badRequest", "Invalid request body: password must be a string.")
    return {"username": name, "OS-KSADM:password": password}
