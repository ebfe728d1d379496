"""Cloud Images for one region: authentication, old URL forms, and seeded base images."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..accounts import Account
from ..identity import Identity
from .errors import Unauthorized
from .store import ImageRecord, ImageStore, now_iso

RACKSPACE_TENANT = "657197"
_BASE_NAMESPACE = uuid.UUID("3b0b1a8e-0d8c-4f0e-9d51-2f3c1ab0e001")
BASE_IMAGES = (
    ("Ubuntu 24.04 LTS (Noble Numbat) (PVHVM)", "ubuntu", "24.04", 798_208_512),
    ("Debian 12 (Bookworm) (PVHVM)", "debian", "12", 612_433_920),
)


def caller_from(identity: Identity) -> Callable[[Request], Account]:
    """The account behind a request's X-Auth-Token, or 401."""

    def caller(request: Request) -> Account:
        account = identity.validate(request.headers.get("x-auth-token"))
        if account is None:
            raise Unauthorized("This server could not verify that you are authorized.")
        return account

    return caller


class TenantPathCompat:
    """Accept the 2014 form ``/v2/<tenant>/images`` by dropping the tenant segment."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            parts = scope["path"].split("/", 3)
            if len(parts) == 4 and parts[1] == "v2" and parts[2].isdigit():
                scope = dict(scope)
                scope["path"] = f"/v2/{parts[3]}"
                scope["raw_path"] = scope["path"].encode()
        await self.app(scope, receive, send)


def versions_route(base_url: Callable[[], str]) -> Route:
    async def versions(request: Request) -> Response:
        body = {
            "versions": [
                {
                    "id": "v2.2",
                    "status": "CURRENT",
                    "links": [{"rel": "self", "href": f"{base_url()}/v2/"}],
                }
            ]
        }
        return JSONResponse(body, status_code=300 if request.url.path == "/" else 200)

    return Route("/versions", versions, methods=["GET"])


def root_route(base_url: Callable[[], str]) -> Route:
    """``GET /`` lists versions with 300 Multiple Choices, as Glance does."""
    return Route("/", versions_route(base_url).endpoint, methods=["GET"])


def build_images_app(routes: list[Route]) -> ASGIApp:
    app = Starlette(routes=routes)
    app.router.redirect_slashes = False  # Glance answers 404, not a redirect
    return TenantPathCompat(app)


def seed_base_images(store: ImageStore) -> None:
    """Public Rackspace base images, so public listings look like Rackspace's."""
    for name, distro, version, size in BASE_IMAGES:
        image_id = str(uuid.uuid5(_BASE_NAMESPACE, f"{store.region}:{name}"))
        if store.get_image(image_id) is not None:
            continue
        created = now_iso(1_700_000_000)
        doc = {
            "id": image_id,
            "name": name,
            "status": "active",
            "visibility": "public",
            "protected": False,
            "container_format": "ovf",
            "disk_format": "vhd",
            "size": size,
            "checksum": uuid.uuid5(_BASE_NAMESPACE, name).hex,
            "min_disk": 20,
            "min_ram": 512,
            "owner": RACKSPACE_TENANT,
            "tags": [],
            "os_type": "linux",
            "os_distro": distro,
            "os_version": version,
            "vm_mode": "hvm",
            "image_type": "base",
            "com.rackspace__1__options": "0",
            "created_at": created,
            "updated_at": created,
        }
        store.put_image(ImageRecord(doc, None))
