"""Discovery routes of an upstream Glance: versions, import methods, stores, usage."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..images.api import ImagesApi
from .context import GlanceRegion

# Glance 33 lists every minor version it speaks, newest first
VERSIONS = (
    *("2.15", "2.13", "2.12", "2.11", "2.10", "2.9", "2.8", "2.7"),
    *("2.6", "2.5", "2.4", "2.3", "2.2", "2.1", "2.0"),
)


def versions_doc(url: str) -> dict[str, object]:
    return {
        "versions": [
            {
                "id": f"v{v}",
                "status": "CURRENT" if v == VERSIONS[0] else "SUPPORTED",
                "links": [{"rel": "self", "href": f"{url}/v2/"}],
            }
            for v in VERSIONS
        ]
    }


def info_routes(region: GlanceRegion, api: ImagesApi) -> list[Route]:
    async def versions(request: Request) -> Response:
        status = 300 if request.url.path == "/" else 200
        return JSONResponse(versions_doc(region.url), status_code=status)

    async def import_info(request: Request) -> Response:
        api.caller(request)
        methods = {
            "description": "Import methods available.",
            "type": "array",
            "value": list(region.import_methods),
        }
        return JSONResponse({"import-methods": methods})

    async def stores(request: Request) -> Response:
        api.caller(request)
        return JSONResponse({"stores": [{"id": region.store_ids, "default": "true"}]})

    async def usage(request: Request) -> Response:
        api.caller(request)
        return JSONResponse({"usage": {}})

    g = api.guarded
    return [
        Route("/", versions, methods=["GET"]),
        Route("/versions", versions, methods=["GET"]),
        Route("/v2/info/import", g(import_info), methods=["GET"]),
        Route("/v2/info/stores", g(stores), methods=["GET"]),
        Route("/v2/info/usage", g(usage), methods=["GET"]),
    ]
