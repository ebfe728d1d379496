"""An upstream-OpenStack region of the local cloud: Glance 33 and Swift behind Keystone v3.

Each region gets its own images port and object-store port, like the Rackspace regions,
and shares the local Keystone v3 on the identity port. The image service is the local
images API in the upstream dialect plus the data, import and discovery routes of
``localcloud.glance``; the object store is the Cloud Files emulation behind Keystone
tokens (``keystone.swift``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.types import ASGIApp

from .accounts import Account
from .db import Database
from .glance.context import GlanceRegion
from .glance.data import ImageData
from .glance.dialect import UpstreamDialect
from .glance.imports import Importer
from .glance.info import info_routes
from .glance.ingest import Quota
from .glance.schemas import DISK_FORMATS
from .glance.tasks import LegacyTasks
from .images.api import ImagesApi
from .images.errors import Unauthorized
from .images.store import ImageStore
from .keystone import Keystone
from .keystone.callers import caller_for
from .keystone.swift import KeystoneSwiftIdentity, ProjectAccounts
from .objects.blobs import BlobStore
from .objects.service import CloudFiles
from .objects.store import ObjectStore
from .settings import OpenStackRegionSpec

_UNAUTHORIZED = (
    "This server could not verify that you are authorized to access the document you"
    " requested. Either you supplied the wrong credentials (e.g., bad password), or your"
    " browser does not understand how to supply the credentials required."
)


@dataclass
class UpstreamRegion:
    """The running parts of one upstream region."""

    name: str
    glance: GlanceRegion
    importer: Importer
    objects: ObjectStore
    images_app: ASGIApp
    files_app: ASGIApp

    def close(self) -> None:
        self.importer.close()


def build_upstream_region(
    spec: OpenStackRegionSpec,
    *,
    db: Database,
    keystone: Keystone,
    data_dir: Path,
    images_url: str,
    task_delay: float = 0.0,
) -> UpstreamRegion:
    key = spec.name.lower()
    store = ImageStore(db, spec.name)
    dialect = UpstreamDialect(spec.disk_formats or DISK_FORMATS)
    glance = GlanceRegion(
        name=spec.name,
        url=images_url,
        store=store,
        blobs=BlobStore(data_dir / "imagestore" / key),
        staging=data_dir / "staging" / key,
        dialect=dialect,
        import_methods=spec.import_methods,
        quota=Quota(store, spec.storage_quota),
    )
    importer = Importer(glance, delay=task_delay)
    data = ImageData(glance)
    tasks = LegacyTasks(glance, importer.pool)
    dialect.set_data_routes(
        lambda api: [*data.routes(api), *importer.routes(api), *tasks.routes(api)]
    )
    api = ImagesApi(
        store,
        keystone_caller(keystone, spec.name),
        on_delete=glance.forget,
        dialect=dialect,
    )
    app = Starlette(routes=[*info_routes(glance, api), *api.routes()])
    app.router.redirect_slashes = False
    objects = ObjectStore(db, BlobStore(data_dir / "blobs" / key), spec.name)
    files = CloudFiles(
        objects, KeystoneSwiftIdentity(keystone, spec.name), ProjectAccounts(keystone, spec.name)
    )
    return UpstreamRegion(spec.name, glance, importer, objects, app, files)


def keystone_caller(keystone: Keystone, region: str) -> Callable[[Request], Account]:
    """The project behind a request's X-Auth-Token, or Glance's 401 naming Keystone."""
    challenge = {"WWW-Authenticate": f'Keystone uri="{keystone.base_url}"'}

    def caller(request: Request) -> Account:
        token = keystone.validate(request.headers.get("x-auth-token"))
        if token is None:
            raise Unauthorized(_UNAUTHORIZED, headers=challenge)
        return caller_for(token, keystone.directory, region)

    return caller
