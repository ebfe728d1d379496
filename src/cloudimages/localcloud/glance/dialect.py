"""Upstream Glance 33's dialect of the images API, as measured against a real Glance 33.

New images are ``shared``; only ``shared`` images take members; ``community`` images are
readable by everyone and listed on request; ``os_hidden`` images leave the default list.
Roles follow Glance's secure-RBAC defaults: ``reader`` reads, ``member`` writes and
downloads, ``admin`` publishes and sees everything. Errors are HTML unless JSON is asked
for. Data comes in through ``PUT /file`` or stage + import (see data.py, imports.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ..accounts import Account
from ..images.dialect import ImagesDialect, PatchRules
from ..images.errors import TITLES, BadRequest, Forbidden, ImagesError, render
from ..images.listing import SORT_KEYS
from ..images.query import EVERYTHING, Where, equals, field, owned_by
from ..images.rackspace import member_where
from ..images.store import ImageRecord, ImageStore
from .schemas import ImageValidator, upstream_schemas

if TYPE_CHECKING:
    from ..images.api import ImagesApi

READ_ONLY = frozenset(
    {
        "id",
        "created_at",
        "updated_at",
        "status",
        "checksum",
        "size",
        "virtual_size",
        "direct_url",
        "self",
        "file",
        "schema",
        "os_hash_algo",
        "os_hash_value",
    }
)
RESERVED = frozenset({"owner", "location", "deleted", "deleted_at"})
BASE_ATTRIBUTES = frozenset(
    {
        "name",
        "visibility",
        "protected",
        "container_format",
        "disk_format",
        "min_disk",
        "min_ram",
        "tags",
        "locations",
        "os_hidden",
    }
)
GLANCE_PREFIX = "os_glance_"
# policies a reader may use; everything else needs the member role (or admin)
READER_ACTIONS = frozenset({"get_image", "get_images", "get_member", "get_members"})
VISIBILITY_FILTERS = ("public", "private", "shared", "community", "all")


def is_hidden_filter(params: dict[str, str]) -> bool:
    """The ``os_hidden`` list filter: ``true``/``false`` (default false), else 400."""
    raw = params.get("os_hidden", "false").lower()
    if raw not in ("true", "false"):
        msg = f"Invalid value '{params['os_hidden']}' for 'os_hidden' filter."
        raise BadRequest(f"{msg} Valid values are 'true' or 'false'.")
    return raw == "true"


class UpstreamDialect(ImagesDialect):
    """See the module docstring; ``disk_formats`` are the region's configured ones."""

    name = "upstream"
    list_params = frozenset({"sort", "os_hidden"})
    visibility_filters = VISIBILITY_FILTERS
    lenient_member_bodies = True

    def __init__(self, disk_formats: tuple[str, ...]) -> None:
        self.schemas = upstream_schemas(disk_formats)
        self.validate_image = ImageValidator(self.schemas["image"])
        self.patch_rules = PatchRules(
            read_only=READ_ONLY,
            reserved=RESERVED,
            reserved_prefixes=(GLANCE_PREFIX,),
            base_attributes=BASE_ATTRIBUTES,
            known=READ_ONLY | RESERVED | BASE_ATTRIBUTES | {"stores"},
            protected_prefixes=(),
            allow_empty_pointer=True,
            validate=self.validate_image,
        )
        self._data_routes: Callable[[ImagesApi], list[Route]] | None = None

    def set_data_routes(self, factory: Callable[[ImagesApi], list[Route]]) -> None:
        """Where data comes in (create, upload, stage, import): built by the region."""
        self._data_routes = factory

    # who sees and changes what ---------------------------------------------------------------
    def can_see(self, store: ImageStore, record: ImageRecord, caller: Account) -> bool:
        visibility = record.doc.get("visibility")
        if caller.is_admin or record.owner == caller.tenant_id:
            return True
        if visibility in ("public", "community") or record.doc.get("owner") is None:
            return True
        return visibility == "shared" and store.member(record.id, caller.tenant_id) is not None

    def owns(self, record: ImageRecord, caller: Account) -> bool:
        return caller.is_admin or record.owner == caller.tenant_id

    def authorize(self, caller: Account, action: str) -> None:
        roles = set(getattr(caller, "roles", ()))
        allowed = "admin" in roles or "member" in roles
        if action in READER_ACTIONS:
            allowed = allowed or "reader" in roles
        if not allowed:
            raise Forbidden(f"You are not authorized to complete {action} action.")

    def check_members_allowed(self, record: ImageRecord) -> None:
        if record.doc.get("visibility") != "shared":
            msg = (
                f"Not allowed to use members of image {record.id}: Only shared images have members."
            )
            raise Forbidden(msg)

    def guard_visibility(self, value: Any, doc: dict[str, Any], caller: Account) -> None:
        if value == "public" and doc.get("visibility") != "public" and not caller.is_admin:
            raise Forbidden("You are not authorized to complete publicize_image action.")

    # lists -------------------------------------------------------------------------------
    def visible_where(self, store: ImageStore, caller: Account, params: dict[str, str]) -> Where:
        visibility = params.get("visibility")
        if visibility is not None and visibility not in VISIBILITY_FILTERS:
            raise BadRequest(f"Invalid visibility value: {visibility}")
        hidden = Where(f"ifnull({field('os_hidden')}, 0) = ?", (int(is_hidden_filter(params)),))
        member = equals("visibility", "shared") & member_where(store, caller.tenant_id, params)
        return hidden & self._listed(caller, visibility, member)

    @staticmethod
    def _listed(caller: Account, visibility: str | None, member: Where) -> Where:
        kind = field("visibility")
        mine = EVERYTHING if caller.is_admin else owned_by(caller.tenant_id)
        if visibility is None:
            return equals("visibility", "public") | mine | member
        if visibility == "all":
            return Where(f"{kind} IN ('public', 'community')") | mine | member
        if visibility in ("public", "community"):
            return equals("visibility", visibility)
        if visibility == "private":
            return equals("visibility", "private") & mine
        return equals("visibility", "shared") & (mine | member)

    def sort_keys(self, params: dict[str, str]) -> list[tuple[str, str]] | None:
        """``sort=key[:dir],...``; it cannot be combined with sort_key/sort_dir."""
        if "sort" not in params:
            return None
        if "sort_key" in params or "sort_dir" in params:
            raise BadRequest("Old and new sorting syntax cannot be combined")
        keys = []
        for item in params["sort"].split(","):
            key, _, direction = item.strip().partition(":")
            direction = direction or "desc"
            if key not in SORT_KEYS:
                choices = ", ".join(SORT_KEYS)
                raise BadRequest(
                    f"Invalid sort key: {key}. It must be one of the following: {choices}."
                )
            if direction not in ("asc", "desc"):
                raise BadRequest(f"Invalid sort direction: {direction}")
            keys.append((key, direction))
        return keys

    # wire shapes ---------------------------------------------------------------------------
    def view(self, record: ImageRecord) -> dict[str, Any]:
        """Every base attribute, nulls included (Glance 33 shows them), links added."""
        out = {k: v for k, v in record.doc.items() if not k.startswith("_")}
        out["self"] = f"/v2/images/{record.id}"
        out["file"] = f"/v2/images/{record.id}/file"
        out["schema"] = "/v2/schemas/image"
        return out

    def render(self, request: Request, error: ImagesError) -> Response:
        """JSON when asked for, else the HTML page WebOb renders for Glance."""
        if "json" in request.headers.get("accept", ""):
            return render(request, error)
        code = f"{error.status} {TITLES.get(error.status, 'Error')}"
        page = (
            f"<html>\n <head>\n  <title>{code}</title>\n </head>\n <body>\n"
            f"  <h1>{code}</h1>\n  {error.message}<br /><br />\n\n\n\n </body>\n</html>"
        )
        return HTMLResponse(page, status_code=error.status, headers=error.headers)

    def data_routes(self, api: ImagesApi) -> list[Route]:
        return self._data_routes(api) if self._data_routes else []
