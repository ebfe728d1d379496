"""Assemble the local cloud: one ASGI app per service, chosen by listening port.

Rackspace serves Identity, each region's Cloud Images and each region's Cloud
Files on separate hosts, and clients rely on that: Cloud Images links are
host-relative (``/v2/images/...``) and temp URLs sign the path from ``/v1/``.
So every service gets its own port, all served by one uvicorn server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .accounts import Accounts
from .db import Database
from .identity import Identity, RegionEndpoints, identity_routes
from .objects.blobs import BlobStore
from .objects.service import CloudFiles
from .objects.store import ObjectStore
from .settings import DEFAULT_ACCOUNTS, LocalCloudSettings


class PortRouter:
    """Dispatch each connection to the service bound to the port it arrived on."""

    def __init__(self, apps: dict[int, ASGIApp]) -> None:
        self.apps = apps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server") or (None, None)
        app = self.apps.get(server[1]) if server else None
        if app is None:
            if scope["type"] == "http":
                await JSONResponse({"message": "no service on this port"}, 404)(
                    scope, receive, send
                )
            return
        await app(scope, receive, send)


@dataclass
class Ports:
    """The ports each service listens on."""

    identity: int
    images: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)


@dataclass
class Services:
    """Everything a running local cloud holds."""

    db: Database
    accounts: Accounts
    identity: Identity
    endpoints: list[RegionEndpoints]
    stores: dict[str, ObjectStore]
    router: PortRouter


def build(settings: LocalCloudSettings, ports: Ports) -> Services:
    data_dir = Path(settings.data_dir)
    db = Database(data_dir / "localcloud.sqlite3")
    accounts = Accounts(db, settings.regions)
    for spec in (*DEFAULT_ACCOUNTS, *settings.accounts):
        accounts.ensure(spec)
    host = settings.catalog_host
    endpoints = [
        RegionEndpoints(
            region=region,
            images_url=f"http://{host}:{ports.images[region]}/v2",
            files_root=f"http://{host}:{ports.files[region]}",
        )
        for region in settings.regions
    ]
    identity = Identity(db, accounts, endpoints, settings.token_lifetime)
    apps: dict[int, ASGIApp] = {ports.identity: Starlette(routes=identity_routes(identity))}
    stores = {}
    for region in settings.regions:
        blobs = BlobStore(data_dir / "blobs" / region.lower())
        stores[region] = ObjectStore(db, blobs, region)
        apps[ports.files[region]] = CloudFiles(stores[region], identity, accounts)
        apps[ports.images[region]] = _images_placeholder()
    return Services(db, accounts, identity, endpoints, stores, PortRouter(apps))


def _images_placeholder() -> ASGIApp:
    async def not_yet(request: Request) -> Response:
        body = {"message": "Cloud Images is not served by this local cloud yet.", "code": "501"}
        return JSONResponse(body, status_code=501)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
    return Starlette(routes=[Route("/{path:path}", not_yet, methods=methods)])
