"""The HTTP face of the local Keystone v3, served on the identity port beside ``/v2.0``.

``GET /`` and ``GET /v3`` for discovery, ``/v3/auth/tokens`` (issue, validate, revoke),
``/v3/auth/{projects,domains,system,catalog}``, a user's own record, projects and
application credentials. Every error is Keystone's JSON error document.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .auth import parse_auth
from .errors import KeystoneError, expecting
from .service import Keystone
from .store import Token
from .views import version_doc, versions_doc

Handler = Callable[[Request], Awaitable[Response]]


def keystone_routes(keystone: Keystone) -> list[Route]:
    api = _Api(keystone)
    g = api.guarded
    creds = "/v3/users/{user_id}/application_credentials"
    return [
        Route("/", g(api.versions), methods=["GET"]),
        Route("/v3", g(api.version), methods=["GET"]),
        Route("/v3/", g(api.version), methods=["GET"]),
        Route("/v3/auth/tokens", g(api.issue), methods=["POST"]),
        Route("/v3/auth/tokens", g(api.check), methods=["GET", "HEAD"]),
        Route("/v3/auth/tokens", g(api.revoke), methods=["DELETE"]),
        Route("/v3/auth/projects", g(api.auth_projects), methods=["GET"]),
        Route("/v3/auth/domains", g(api.auth_domains), methods=["GET"]),
        Route("/v3/auth/system", g(api.auth_system), methods=["GET"]),
        Route("/v3/auth/catalog", g(api.auth_catalog), methods=["GET"]),
        Route("/v3/users/{user_id}", g(api.user), methods=["GET"]),
        Route("/v3/users/{user_id}/projects", g(api.user_projects), methods=["GET"]),
        Route("/v3/projects/{project_id}", g(api.project), methods=["GET"]),
        Route(creds, g(api.create_app_cred), methods=["POST"]),
        Route(creds, g(api.list_app_creds), methods=["GET"]),
        Route(creds + "/{cred_id}", g(api.get_app_cred), methods=["GET"]),
        Route(creds + "/{cred_id}", g(api.delete_app_cred), methods=["DELETE"]),
    ]


class _Api:
    def __init__(self, keystone: Keystone) -> None:
        self.ks = keystone

    def guarded(self, handler: Handler) -> Handler:
        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except KeystoneError as error:
                return error.response(self.ks.base_url)

        return run

    def caller(self, request: Request) -> Token:
        return self.ks.caller(request.headers.get("x-auth-token"))

    # discovery -------------------------------------------------------------------------
    async def versions(self, request: Request) -> Response:
        headers = {"Location": f"{self.ks.base_url}/v3/"}
        return JSONResponse(versions_doc(self.ks.base_url), status_code=300, headers=headers)

    async def version(self, request: Request) -> Response:
        return JSONResponse({"version": version_doc(self.ks.base_url)})

    # tokens ----------------------------------------------------------------------------
    async def issue(self, request: Request) -> Response:
        auth = parse_auth(await request.body(), request.headers.get("content-type"))
        token = self.ks.auth.authenticate(auth)
        nocatalog = "nocatalog" in request.query_params
        body = self.ks.token_doc(token, catalog=not nocatalog)
        return JSONResponse(body, status_code=201, headers={"X-Subject-Token": token.id})

    async def check(self, request: Request) -> Response:
        caller = self.caller(request)
        subject_id = request.headers.get("x-subject-token")
        subject = self.ks.subject(caller, subject_id, "validate_token")
        nocatalog = "nocatalog" in request.query_params
        headers = {"X-Subject-Token": subject.id}
        if request.method == "HEAD":
            return Response(status_code=200, headers=headers, media_type="application/json")
        body = self.ks.token_doc(subject, catalog=not nocatalog)
        return JSONResponse(body, headers=headers)

    async def revoke(self, request: Request) -> Response:
        caller = self.caller(request)
        subject = self.ks.subject(caller, request.headers.get("x-subject-token"), "revoke_token")
        self.ks.store.revoke(subject.id)
        return Response(status_code=204)

    # what the caller may scope to --------------------------------------------------------
    async def auth_projects(self, request: Request) -> Response:
        caller = self.caller(request)
        return JSONResponse(self.ks.projects_doc(caller.user_id, "/v3/auth/projects"))

    async def auth_domains(self, request: Request) -> Response:
        self.caller(request)
        links = {"next": None, "self": f"{self.ks.base_url}/v3/auth/domains", "previous": None}
        return JSONResponse({"domains": [], "links": links})

    async def auth_system(self, request: Request) -> Response:
        caller = self.caller(request)
        system = [{"all": True}] if caller.user_id in self.ks.directory.system_admins else []
        links = {"self": f"{self.ks.base_url}/v3/auth/system"}
        return JSONResponse({"system": system, "links": links})

    async def auth_catalog(self, request: Request) -> Response:
        caller = self.caller(request)
        if caller.project_id is None and not caller.system:
            raise KeystoneError(403, "A project- or system-scoped token is required.")
        links = {"self": f"{self.ks.base_url}/v3/auth/catalog"}
        catalog = self.ks.views.catalog(caller.project_id)
        return JSONResponse({"catalog": catalog, "links": links})

    # users, projects, application credentials --------------------------------------------
    async def user(self, request: Request) -> Response:
        return JSONResponse(self.ks.user_doc(self.caller(request), request.path_params["user_id"]))

    async def user_projects(self, request: Request) -> Response:
        caller = self.caller(request)
        user_id = request.path_params["user_id"]
        self.ks.user_doc(caller, user_id)  # same policy as reading the user
        return JSONResponse(self.ks.projects_doc(user_id, f"/v3/users/{user_id}/projects"))

    async def project(self, request: Request) -> Response:
        caller = self.caller(request)
        return JSONResponse(self.ks.project_doc(caller, request.path_params["project_id"]))

    async def create_app_cred(self, request: Request) -> Response:
        caller = self.caller(request)
        body = await _json(request)
        doc = self.ks.create_app_cred(caller, request.path_params["user_id"], body)
        return JSONResponse(doc, status_code=201)

    async def list_app_creds(self, request: Request) -> Response:
        caller = self.caller(request)
        name = request.query_params.get("name")
        return JSONResponse(self.ks.list_app_creds(caller, request.path_params["user_id"], name))

    async def get_app_cred(self, request: Request) -> Response:
        params = request.path_params
        cred = self.ks.app_cred(self.caller(request), params["user_id"], params["cred_id"])
        return JSONResponse({"application_credential": self.ks.views.app_cred(cred)})

    async def delete_app_cred(self, request: Request) -> Response:
        params = request.path_params
        self.ks.delete_app_cred(self.caller(request), params["user_id"], params["cred_id"])
        return Response(status_code=204)


async def _json(request: Request) -> Any:
    body = await request.body()
    media = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if media.lower() != "application/json":
        raise expecting("application/json", "Content-Type header")
    try:
        return json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise expecting("valid JSON", "request body") from None
