"""Rackspace's Cloud Images dialect (Juno-era Glance with Rackspace's restrictions).

Images are ``private`` or ``public``; a private image takes members; a list is public +
own + shared-with-me in the requested member status. No image record is created and no
data moves through the API: images come from import tasks and leave through export
tasks. Custom properties under ``com.rackspace``/``org.openstack`` belong to Rackspace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..accounts import Account
from .dialect import ImagesDialect, PatchRules
from .errors import BadRequest, Forbidden, ImagesError, render
from .patch import (
    BASE_ATTRIBUTES,
    KNOWN,
    PROTECTED_PREFIXES,
    READ_ONLY,
    RESERVED,
    rackspace_visibility_guard,
)
from .query import Where, equals, owned_by, shared_with
from .schemas import SCHEMAS, validate_image
from .store import ImageRecord, ImageStore
from .views import can_see, image_view

if TYPE_CHECKING:
    from .api import ImagesApi

_MEMBER_STATUSES = ("pending", "accepted", "rejected", "all")


class RackspaceDialect(ImagesDialect):
    """See the module docstring."""

    name = "rackspace"
    schemas = SCHEMAS
    patch_rules = PatchRules(
        read_only=frozenset(READ_ONLY),
        reserved=frozenset(RESERVED),
        reserved_prefixes=(),
        base_attributes=frozenset(BASE_ATTRIBUTES),
        known=frozenset(KNOWN),
        protected_prefixes=PROTECTED_PREFIXES,
        allow_empty_pointer=False,
        validate=validate_image,
    )
    list_params = frozenset()
    visibility_filters = ("public", "private", "shared")
    lenient_member_bodies = False

    def can_see(self, store: ImageStore, record: ImageRecord, caller: Account) -> bool:
        return can_see(store, record, caller.tenant_id)

    def visible_where(self, store: ImageStore, caller: Account, params: dict[str, str]) -> Where:
        """Public + own + shared-with-me; ``shared`` is only what others shared with me."""
        tenant = caller.tenant_id
        visibility = params.get("visibility")
        if visibility is not None and visibility not in self.visibility_filters:
            raise BadRequest(f"Invalid visibility value: {visibility}")
        shared = member_where(store, tenant, params)
        if visibility == "shared":
            return Where("owner != ?", (tenant,)) & shared
        listed = owned_by(tenant) | equals("visibility", "public") | shared
        return listed if visibility is None else listed & equals("visibility", visibility)

    def view(self, record: ImageRecord) -> dict[str, Any]:
        return image_view(record)

    def render(self, request: Request, error: ImagesError) -> Response:
        return render(request, error)

    def data_routes(self, api: ImagesApi) -> list[Route]:
        async def create_image(request: Request) -> Response:
            api.caller(request)
            msg = "Cloud Images does not create image records directly; use an import task."
            raise Forbidden(msg)

        async def image_file(request: Request) -> Response:
            api.visible(request.path_params["image_id"], api.caller(request))
            msg = "Image data cannot be uploaded or downloaded here; use an import or export task."
            raise Forbidden(msg)

        g = api.guarded
        return [
            Route("/v2/images", g(create_image), methods=["POST"]),
            Route("/v2/images/{image_id}/file", g(image_file), methods=["GET", "PUT"]),
        ]

    def check_members_allowed(self, record: ImageRecord) -> None:
        if record.doc.get("visibility") == "public":
            raise Forbidden("Public images do not have members.")

    def guard_visibility(self, value: Any, doc: dict[str, Any], caller: Account) -> None:
        rackspace_visibility_guard(value, doc)


def member_where(store: ImageStore, tenant: str, params: dict[str, str]) -> Where:
    """The images shared with ``tenant`` in the requested member status (default accepted)."""
    member_status = params.get("member_status", "accepted")
    if member_status not in _MEMBER_STATUSES:
        raise BadRequest(f"Invalid status value: {member_status}")
    return shared_with(store.region, tenant, member_status)


RACKSPACE = RackspaceDialect()
