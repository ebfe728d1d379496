"""Cloud Images v2 over HTTP: images, tags, members and schemas for one region.

Every handler works for one authenticated tenant; a resource that tenant may
not see is a 404, one it may see but not change is a 403, as Glance answers.
Where Rackspace and upstream Glance differ, the handlers ask the region's
``ImagesDialect`` (see dialect.py); Rackspace's is the default.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..accounts import Account
from .dialect import ImagesDialect
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
from .rackspace import RACKSPACE
from .store import ImageRecord, ImageStore, now_iso

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


async def json_body(request: Request, *, lenient: bool = False) -> Any:
    """The JSON body; 415 unless it is sent as application/json (``lenient``: any type)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not lenient:
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
        dialect: ImagesDialect = RACKSPACE,
    ) -> None:
        self.store = store
        self.caller = caller
        self.member_limit = member_limit
        self.on_delete = on_delete
        self.dialect = dialect

    def guarded(self, handler: Handler) -> Handler:
        """Render domain errors in the dialect's shape; the one place statuses are decided."""

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except ImagesError as error:
                return self.dialect.render(request, error)

        return run

    def routes(self) -> list[Route]:
        g = self.guarded
        return [
            Route("/v2/images", g(self.list_images), methods=["GET"]),
            *self.dialect.data_routes(self),
            Route("/v2/images/{image_id}", g(self.get_image), methods=["GET"]),
            Route("/v2/images/{image_id}", g(self.update_image), methods=["PATCH"]),
            Route("/v2/images/{image_id}", g(self.delete_image), methods=["DELETE"]),
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

    def authorized(self, request: Request, action: str) -> Account:
        """The caller, once the dialect's policy allows ``action`` (Glance's policy names)."""
        caller = self.caller(request)
        self.dialect.authorize(caller, action)
        return caller

    def visible(self, image_id: str, caller: Account) -> ImageRecord:
        """The image if this caller may see it; 404 otherwise (never 403: no existence leak)."""
        record = self.store.get_image(image_id)
        if record is None or not self.dialect.can_see(self.store, record, caller):
            raise NotFound(f"No image found with ID {image_id}")
        return record

    def owned(self, image_id: str, caller: Account, action: str) -> ImageRecord:
        """The image if this caller owns it; 403 if it can only see it, 404 if not even that."""
        record = self.visible(image_id, caller)
        if not self.dialect.owns(record, caller):
            raise Forbidden(f"You are not permitted to {action} image {image_id}.")
        return record

    # images -------------------------------------------------------------------
    async def list_images(self, request: Request) -> Response:
        caller = self.authorized(request, "get_images")
        items = request.query_params.multi_items()
        return JSONResponse(list_images(self.store, caller, items, self.dialect))

    async def get_image(self, request: Request) -> Response:
        caller = self.authorized(request, "get_image")
        return JSONResponse(
            self.dialect.view(self.visible(request.path_params["image_id"], caller))
        )

    async def update_image(self, request: Request) -> Response:
        caller = self.authorized(request, "get_image")
        media = check_media_type(request.headers.get("content-type"))
        record = self.owned(request.path_params["image_id"], caller, "modify")
        self.dialect.authorize(caller, "modify_image")
        rules = self.dialect.patch_rules
        changes = parse_changes(await request.body(), media, rules)

        def guard(value: Any, doc: dict[str, Any]) -> None:
            self.dialect.guard_visibility(value, doc, caller)

        doc = apply_changes(record.doc, changes, media, rules=rules, guard_visibility=guard)
        if doc != record.doc:
            doc["updated_at"] = now_iso()
        record.doc = doc
        self.store.put_image(record)
        return JSONResponse(self.dialect.view(record))

    async def delete_image(self, request: Request) -> Response:
        image_id = request.path_params["image_id"]
        caller = self.authorized(request, "get_image")
        record = self.owned(image_id, caller, "delete")
        self.dialect.authorize(caller, "delete_image")
        if record.doc.get("protected"):
            raise Forbidden(f"Image {image_id} is protected and cannot be deleted.")
        self.store.delete_image(image_id)
        if self.on_delete is not None:
            self.on_delete(record)
        return Response(status_code=204)

    # tags ---------------------------------------------------------------------
    async def add_tag(self, request: Request) -> Response:
        tag = request.path_params["tag"]
        caller = self.authorized(request, "modify_image")
        record = self.owned(request.path_params["image_id"], caller, "tag")
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
        caller = self.authorized(request, "modify_image")
        record = self.owned(request.path_params["image_id"], caller, "tag")
        tags = record.doc.get("tags", [])
        if tag not in tags:
            raise NotFound(f"Tag {tag} not found on image {record.id}.")
        tags.remove(tag)
        record.doc["updated_at"] = now_iso()
        self.store.put_image(record)
        return Response(status_code=204)

    # members ------------------------------------------------------------------
    async def list_members(self, request: Request) -> Response:
        caller = self.authorized(request, "get_members")
        tenant = caller.tenant_id
        record = self.visible(request.path_params["image_id"], caller)
        self.dialect.check_members_allowed(record)
        members = self.store.members(record.id)
        if record.owner != tenant:
            members = [m for m in members if m.member_id == tenant]
        body = {"members": [m.doc() for m in members], "schema": "/v2/schemas/members"}
        return JSONResponse(body)

    async def add_member(self, request: Request) -> Response:
        caller = self.authorized(request, "add_member")
        record = self.owned(request.path_params["image_id"], caller, "share")
        body = await json_body(request, lenient=self.dialect.lenient_member_bodies)
        member = body.get("member") if isinstance(body, dict) else None
        if not isinstance(member, str) or not member.strip():
            raise BadRequest('Request body must be {"member": "<tenant id>"}.')
        self.dialect.check_members_allowed(record)
        if self.store.member(record.id, member) is not None:
            raise Conflict(f"Member {member} already exists on image {record.id}.")
        if len(self.store.members(record.id)) >= self.member_limit:
            raise OverLimit(f"Attempted: {self.member_limit + 1}, Maximum: {self.member_limit}")
        return JSONResponse(self.store.add_member(record.id, member).doc())

    async def get_member(self, request: Request) -> Response:
        caller = self.authorized(request, "get_member")
        tenant = caller.tenant_id
        record = self.visible(request.path_params["image_id"], caller)
        member_id = request.path_params["member_id"]
        found = self.store.member(record.id, member_id)
        if found is None or tenant not in (record.owner, member_id):
            raise NotFound(f"Member {member_id} not found on image {record.id}.")
        return JSONResponse(found.doc())

    async def set_member(self, request: Request) -> Response:
        caller = self.authorized(request, "modify_member")
        tenant = caller.tenant_id
        record = self.visible(request.path_params["image_id"], caller)
        member_id = request.path_params["member_id"]
        found = self.store.member(record.id, member_id)
        if found is None:
            raise NotFound(f"Member {member_id} not found on image {record.id}.")
        if tenant == record.owner:
            raise Forbidden("Only the member may change its own membership status.")
        if tenant != member_id:
            raise NotFound(f"Member {member_id} not found on image {record.id}.")
        body = await json_body(request, lenient=self.dialect.lenient_member_bodies)
        status = body.get("status") if isinstance(body, dict) else None
        if status not in ("pending", "accepted", "rejected"):
            raise BadRequest("Member status must be one of pending, accepted, rejected.")
        return JSONResponse(self.store.set_member_status(record.id, member_id, status).doc())

    async def remove_member(self, request: Request) -> Response:
        caller = self.authorized(request, "delete_member")
        record = self.owned(request.path_params["image_id"], caller, "unshare")
        member_id = request.path_params["member_id"]
        if self.store.member(record.id, member_id) is None:
            raise NotFound(f"Member {member_id} not found on image {record.id}.")
        self.store.remove_member(record.id, member_id)
        return Response(status_code=204)

    # schemas ------------------------------------------------------------------
    async def schema(self, request: Request) -> Response:
        self.caller(request)
        name = request.path_params["name"]
        if name not in self.dialect.schemas:
            raise NotFound(f"No schema named {name}.")
        return JSONResponse(self.dialect.schemas[name])
