"""Cloud Images v2 over HTTP: images, tags, members and schemas for one region.

Every handler works for one authenticated tenant; a resource that tenant may
not see is a 404, one it may see but not change is a 403, as Glance answers.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..accounts import Account
from .errors import (
    BadRequest,
    Conflict,
    Forbidden,
    ImagesError,
    NotFound,
    OverLimit,
    UnsupportedMediaType,
    render,
)
from .listing import list_images
from .patch import MAX_TAGS, apply_changes, check_media_type, parse_changes
from .schemas import SCHEMAS
from .store import ImageRecord, ImageStore, now_iso
from .views import image_view, owned_image, visible_image

Caller = Callable[[Request], Account]
Handler = Callable[[Request], Awaitable[Response]]


def guarded(handler: Handler) -> Handler:
    """Render domain errors in Glance's shape; the one place statuses are decided."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except ImagesError as error:
            return render(request, error)

    return run


async def json_body(request: Request) -> Any:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise UnsupportedMediaType("Content-Type must be application/json.")
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Malformed JSON in request body.") from None


class ImagesApi:
    """The image, tag, member and schema endpoints of one region."""

    def __init__(
        self,
        store: ImageStore,
        caller: Caller,
        *,
        member_limit: int = 128,
        on_delete: Callable[[ImageRecord], None] | None = None,
    ) -> None:
        self.store = store
        self.caller = caller
        self.member_limit = member_limit
        self.on_delete = on_delete

    def routes(self) -> list[Route]:
        g = guarded
        return [
            Route("/v2/images", g(self.list_images), methods=["GET"]),
            Route("/v2/images", g(self.create_image), methods=["POST"]),
            Route("/v2/images/{image_id}", g(self.get_image), methods=["GET"]),
            Route("/v2/images/{image_id}", g(self.update_image), methods=["PATCH"]),
            Route("/v2/images/{image_id}", g(self.delete_image), methods=["DELETE"]),
            Route("/v2/images/{image_id}/file", g(self.image_file), methods=["GET", "PUT"]),
            Route("/v2/images/{image_id}/tags/{tag}", g(self.add_tag), methods=["PUT"]),
            Route("/v2/images/{image_id}/tags/{tag}", g(self.remove_tag), methods=["DELETE"]),
            Route("/v2/images/{image_id}/members", g(self.list_members), methods=["GET"]),
            Route("/v2/images/{image_id}/members", g(self.add_member), methods=["POST"]),
            Route("/v2/images/{image_id}/members/{member_id}", g(self.get_member), methods=["GET"]),
            Route("/v2/images/{image_id}/members/{member_id}", g(self.set_member), methods=["PUT"]),
            Route(
                "/v2/images/{image_id}/members/{member_id}",
                g(self.remove_member),
                methods=["DELETE"],
            ),
            Route("/v2/schemas/{name}", g(self.schema), methods=["GET"]),
        ]

    def tenant(self, request: Request) -> str:
        return self.caller(request).tenant_id

    # images -------------------------------------------------------------------
    async def list_images(self, request: Request) -> Response:
        tenant = self.tenant(request)
        return JSONResponse(list_images(self.store, tenant, request.query_params.multi_items()))

    async def create_image(self, request: Request) -> Response:
        self.tenant(request)
        msg = "Cloud Images does not create image records directly; use an import task."
        raise Forbidden(msg)

    async def image_file(self, request: Request) -> Response:
        visible_image(self.store, request.path_params["image_id"], self.tenant(request))
        msg = "Image data cannot be uploaded or downloaded here; use an import or export task."
        raise Forbidden(msg)

    async def get_image(self, request: Request) -> Response:
        record = visible_image(self.store, request.path_params["image_id"], self.tenant(request))
        return JSONResponse(image_view(record))

    async def update_image(self, request: Request) -> Response:
        tenant = self.tenant(request)
        media = check_media_type(request.headers.get("content-type"))
        record = owned_image(self.store, request.path_params["image_id"], tenant, "modify")
        changes = parse_changes(await request.body(), media)
        doc = apply_changes(record.doc, changes, media)
        if doc != record.doc:
            doc["updated_at"] = now_iso()
        record.doc = doc
        self.store.put_image(record)
        return JSONResponse(image_view(record))

    async def delete_image(self, request: Request) -> Response:
        image_id = request.path_params["image_id"]
        record = owned_image(self.store, image_id, self.tenant(request), "delete")
        if record.doc.get("protected"):
            raise Forbidden(f"Image {image_id} is protected and cannot be deleted.")
        self.store.delete_image(image_id)
        if self.on_delete is not None:
            self.on_delete(record)
        return Response(status_code=204)

    # tags ---------------------------------------------------------------------
    async def add_tag(self, request: Request) -> Response:
        tag = request.path_params["tag"]
        record = owned_image(
            self.store, request.path_params["image_id"], self.tenant(request), "tag"
        )
        if len(tag) > 255:
            raise BadRequest("Tags may be at most 255 characters long.")
        tags = record.doc.setdefault("tags", [])
        if tag not in tags:
            if len(tags) >= MAX_TAGS:
                raise OverLimit(f"Attempted: {len(tags) + 1}, Maximum: {MAX_TAGS} image tags.")
            tags.append(tag)
            record.doc["updated_at"] = now_iso()
            self.store.put_image(record)
        return Response(status_code=204)

    async def remove_tag(self, request: Request) -> Response:
        tag = request.path_params["tag"]
        record = owned_image(
            self.store, request.path_params["image_id"], self.tenant(request), "tag"
        )
        tags = record.doc.get("tags", [])
        if tag not in tags:
            raise NotFound(f"Tag {tag} not found on image {record.id}.")
        tags.remove(tag)
        record.doc["updated_at"] = now_iso()
        self.store.put_image(record)
        return Response(status_code=204)

    # members ------------------------------------------------------------------
    async def list_members(self, request: Request) -> Response:
        tenant = self.tenant(request)
        record = visible_image(self.store, request.path_params["image_id"], tenant)
        if record.doc.get("visibility") == "public":
            raise Forbidden("Public images do not have members.")
        members = self.store.members(record.id)
        if record.owner != tenant:
            members = [m for m in members if m.member_id == tenant]
        body = {"members": [m.doc() for m in members], "schema": "/v2/schemas/members"}
        return JSONResponse(body)

    async def add_member(self, request: Request) -> Response:
        tenant = self.tenant(request)
        record = owned_image(self.store, request.path_params["image_id"], tenant, "share")
        body = await json_body(request)
        member = body.get("member") if isinstance(body, dict) else None
        if not isinstance(member, str) or not member.strip():
            raise BadRequest('Request body must be {"member": "<tenant id>"}.')
        if record.doc.get("visibility") == "public":
            raise Forbidden("Public images do not have members.")
        if self.store.member(record.id, member) is not None:
            raise Conflict(f"Member {member} already exists on image {record.id}.")
        if len(self.store.members(record.id)) >= self.member_limit:
            raise OverLimit(f"Attempted: {self.member_limit + 1}, Maximum: {self.member_limit}")
        return JSONResponse(self.store.add_member(record.id, member).doc())

    async def get_member(self, request: Request) -> Response:
        tenant = self.tenant(request)
        record = visible_image(self.store, request.path_params["image_id"], tenant)
        member_id = request.path_params["member_id"]
        found = self.store.member(record.id, member_id)
        if found is None or tenant not in (record.owner, member_id):
            raise NotFound(f"Member {member_id} not found on image {record.id}.")
        return JSONResponse(found.doc())

    async def set_member(self, request: Request) -> Response:
        tenant = self.tenant(request)
        record = visible_image(self.store, request.path_params["image_id"], tenant)
        member_id = request.path_params["member_id"]
        found = self.store.member(record.id, member_id)
        if found is None:
            raise NotFound(f"Member {member_id} not found on image {record.id}.")
        if tenant == record.owner:
            raise Forbidden("Only the member may change its own membership status.")
        if tenant != member_id:
            raise NotFound(f"Member {member_id} not found on image {record.id}.")
        body = await json_body(request)
        status = body.get("status") if isinstance(body, dict) else None
        if status not in ("pending", "accepted", "rejected"):
            raise BadRequest("Member status must be one of pending, accepted, rejected.")
        return JSONResponse(self.store.set_member_status(record.id, member_id, status).doc())

    async def remove_member(self, request: Request) -> Response:
        tenant = self.tenant(request)
        record = owned_image(self.store, request.path_params["image_id"], tenant, "unshare")
        member_id = request.path_params["member_id"]
        if self.store.member(record.id, member_id) is None:
            raise NotFound(f"Member {member_id} not found on image {record.id}.")
        self.store.remove_member(record.id, member_id)
        return Response(status_code=204)

    # schemas ------------------------------------------------------------------
    async def schema(self, request: Request) -> Response:
        self.tenant(request)
        name = request.path_params["name"]
        if name not in SCHEMAS:
            raise NotFound(f"No schema named {name}.")
        return JSONResponse(SCHEMAS[name])
