"""Assemble the local cloud: one ASGI app per service, chosen by listening port.

Rackspace serves Identity, each region's Cloud Images and each region's Cloud
Files on separate hosts, and clients rely on that: Cloud Images links are
host-relative (``/v2/images/...``) and temp URLs sign the path from ``/v1/``.
So every service gets its own port, all served by one uvicorn server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .accounts import Accounts
from .db import Database
from .faults import FaultInjector, FaultMiddleware, fault_admin_routes
from .identity import Identity, RegionEndpoints, identity_routes
from .identity_directory import directory_routes
from .images.api import ImagesApi
from .images.service import (
    build_images_app,
    caller_from,
    root_route,
    seed_base_images,
    versions_route,
)
from .images.store import ImageRecord, ImageStore
from .imagetasks import TaskEngine, task_routes
from .keystone import Keystone, OpenStackEndpoints, build_keystone, keystone_routes
from .objects.blobs import BlobStore
from .objects.service import CloudFiles
from .objects.store import ObjectStore
from .settings import DEFAULT_ACCOUNTS, LocalCloudSettings
from .upstream import UpstreamRegion, build_upstream_region


class PortRouter:
    """Dispatch each connection to the service bound to the port it arrived on."""

    def __init__(self, apps: dict[int, ASGIApp]) -> None:
        self.apps = apps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server")
        app = self.apps.get(int(server[1])) if server else None
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
    image_stores: dict[str, ImageStore]
    image_blobs: dict[str, BlobStore]
    faults: FaultInjector
    engines: dict[str, TaskEngine]
    router: PortRouter
    keystone: Keystone | None = None
    upstream: dict[str, UpstreamRegion] = field(default_factory=dict)

    def start(self) -> None:
        """Start background work: the import/export task engines (and their recovery)."""
        for engine in self.engines.values():
            engine.start()

    def close(self) -> None:
        """Stop the engines first, then close the database they write to."""
        for engine in self.engines.values():
            engine.stop()
        for region in self.upstream.values():
            region.close()
        self.db.close()


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
    faults = FaultInjector(seed=settings.fault_seed)
    faults.load_spec(settings.faults)
    upstream_apps: dict[int, tuple[str, ASGIApp]] = {}
    keystone, upstream = _openstack(settings, ports, db, data_dir, upstream_apps)
    identity_app = Starlette(
        routes=[
            *identity_routes(identity),
            *fault_admin_routes(faults, identity),
            *keystone_routes(keystone),
            *directory_routes(identity, accounts),
        ]
    )
    apps: dict[int, ASGIApp] = {ports.identity: FaultMiddleware(identity_app, faults, "identity")}
    stores, image_stores, image_blobs, engines = {}, {}, {}, {}
    caller = caller_from(identity)
    for endpoint in endpoints:
        region = endpoint.region
        stores[region] = ObjectStore(db, BlobStore(data_dir / "blobs" / region.lower()), region)
        files = CloudFiles(stores[region], identity, accounts)
        apps[ports.files[region]] = FaultMiddleware(files, faults, f"files:{region}")
        image_blobs[region] = BlobStore(data_dir / "imagestore" / region.lower())
        image_stores[region] = ImageStore(db, region)
        seed_base_images(image_stores[region])
        api = ImagesApi(
            image_stores[region],
            caller,
            member_limit=settings.member_limit,
            on_delete=_blob_deleter(image_blobs[region]),
        )
        engines[region] = TaskEngine(
            settings,
            image_stores[region],
            stores[region],
            image_blobs[region],
            accounts,
            faults=faults,
        )
        root = endpoint.images_url.removesuffix("/v2")
        routes = [
            *api.routes(),
            *task_routes(image_stores[region], engines[region], caller),
            versions_route(_constant(root)),
            root_route(_constant(root)),
        ]
        images_app = build_images_app(routes)
        apps[ports.images[region]] = FaultMiddleware(images_app, faults, f"images:{region}")
    for port, (service, app) in upstream_apps.items():
        apps[port] = FaultMiddleware(app, faults, service)
    return Services(
        db,
        accounts,
        identity,
        endpoints,
        stores,
        image_stores,
        image_blobs,
        faults,
        engines,
        PortRouter(apps),
        keystone,
        upstream,
    )


def _openstack(
    settings: LocalCloudSettings,
    ports: Ports,
    db: Database,
    data_dir: Path,
    apps: dict[int, tuple[str, ASGIApp]],
) -> tuple[Keystone, dict[str, UpstreamRegion]]:
    """Keystone v3 and the upstream-OpenStack regions; fills ``apps`` (port -> service)."""
    host = settings.catalog_host
    endpoints = [
        OpenStackEndpoints(
            region=spec.name,
            image_url=f"http://{host}:{ports.images[spec.name]}",
            files_root=f"http://{host}:{ports.files[spec.name]}",
        )
        for spec in settings.openstack_regions
    ]
    keystone = build_keystone(db, settings, endpoints, base_url=f"http://{host}:{ports.identity}")
    regions = {}
    for spec, endpoint in zip(settings.openstack_regions, endpoints, strict=True):
        region = build_upstream_region(
            spec,
            db=db,
            keystone=keystone,
            data_dir=data_dir,
            images_url=endpoint.image_url,
            task_delay=settings.task_processing_delay,
        )
        regions[spec.name] = region
        apps[ports.images[spec.name]] = (f"images:{spec.name}", region.images_app)
        apps[ports.files[spec.name]] = (f"files:{spec.name}", region.files_app)
    return keystone, regions


def _blob_deleter(blobs: BlobStore) -> Callable[[ImageRecord], None]:
    """Delete an image's stored bytes once its record is gone."""

    def delete(record: ImageRecord) -> None:
        blobs.delete(record.blob)

    return delete


def _constant(value: str) -> Callable[[], str]:
    return lambda: value
