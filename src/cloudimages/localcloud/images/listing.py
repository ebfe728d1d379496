"""``GET /images``: the visible union, every filter of the spec, sorting, paging.

Rackspace runs Juno-era Glance: the default list is public + own + shared-with-me
images whose member status is ``member_status`` (default ``accepted``); any
unknown query parameter filters on an image property by exact match.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from .errors import BadRequest
from .store import ImageRecord, ImageStore
from .views import can_see, image_view

SORT_KEYS = (
    "name",
    "status",
    "container_format",
    "disk_format",
    "size",
    "id",
    "created_at",
    "updated_at",
)
DEFAULT_LIMIT = 25
MAX_LIMIT = 1000
_SPECIAL = {
    "limit",
    "marker",
    "sort_key",
    "sort_dir",
    "visibility",
    "member_status",
    "tag",
    "size_min",
    "size_max",
}
_UNFILTERABLE = {"self", "file", "schema", "changes-since", "tags", "locations", "direct_url"}


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise BadRequest("limit param must be an integer") from None
    if limit < 0:
        raise BadRequest("limit param must be positive")
    return min(limit, MAX_LIMIT)


def parse_sort(params: dict[str, str]) -> tuple[str, str]:
    key = params.get("sort_key", "created_at")
    if key not in SORT_KEYS:
        raise BadRequest(
            f"Invalid sort key: {key}. It must be one of the following: "
            + ", ".join(SORT_KEYS)
            + "."
        )
    direction = params.get("sort_dir", "desc")
    if direction not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {direction}")
    return key, direction


def list_images(store: ImageStore, tenant: str, items: list[tuple[str, str]]) -> dict[str, Any]:
    params = dict(items)
    tags = [v for k, v in items if k == "tag"]
    limit = parse_limit(params.get("limit"))
    sort_key, sort_dir = parse_sort(params)
    union = _visible_union(store, tenant, params)
    chosen = [r for r in union if _matches(r, params, tags)]
    chosen.sort(key=lambda r: _sort_value(r, sort_key), reverse=sort_dir == "desc")
    marker = params.get("marker")
    if marker is not None:
        chosen = _after_marker(store, tenant, marker, chosen, sort_key=sort_key, sort_dir=sort_dir)
    page = chosen[:limit]
    body: dict[str, Any] = {
        "images": [image_view(r) for r in page],
        "first": _link(items, None),
        "schema": "/v2/schemas/images",
    }
    if limit and len(page) == limit:
        body["next"] = _link(items, page[-1].id)
    return body


def _after_marker(
    store: ImageStore,
    tenant: str,
    marker: str,
    chosen: list[ImageRecord],
    *,
    sort_key: str,
    sort_dir: str,
) -> list[ImageRecord]:
    """The images after the marker's sort position; the marker itself need not match filters."""
    record = store.get_image(marker)
    if record is None or not can_see(store, record, tenant):
        raise BadRequest(f"Invalid marker. Image {marker} could not be found.")
    position = _sort_value(record, sort_key)
    if sort_dir == "desc":
        return [r for r in chosen if _sort_value(r, sort_key) < position]
    return [r for r in chosen if _sort_value(r, sort_key) > position]


def _visible_union(store: ImageStore, tenant: str, params: dict[str, str]) -> list[ImageRecord]:
    visibility = params.get("visibility")
    if visibility not in (None, "public", "private", "shared"):
        raise BadRequest(f"Invalid visibility value: {visibility}")
    member_status = params.get("member_status", "accepted")
    if member_status not in ("pending", "accepted", "rejected", "all"):
        raise BadRequest(f"Invalid status value: {member_status}")
    memberships = store.memberships(tenant)

    def shared_ok(image_id: str) -> bool:
        status = memberships.get(image_id)
        return status is not None and member_status in ("all", status)

    out = []
    for record in store.all_images():
        public = record.doc.get("visibility") == "public"
        if visibility == "shared":
            keep = record.owner != tenant and shared_ok(record.id)
        else:
            keep = public or record.owner == tenant or shared_ok(record.id)
            if visibility is not None:
                keep = keep and record.doc.get("visibility") == visibility
        if keep:
            out.append(record)
    return out


def _matches(record: ImageRecord, params: dict[str, str], tags: list[str]) -> bool:
    doc = record.doc
    if any(tag not in doc.get("tags", []) for tag in tags):
        return False
    size = doc.get("size")
    for bound in ("size_min", "size_max"):
        if bound in params:
            try:
                limit = int(params[bound])
            except ValueError:
                raise BadRequest(f"Invalid value for {bound}: {params[bound]}") from None
            if size is None or (size < limit if bound == "size_min" else size > limit):
                return False
    for key, wanted in params.items():
        if key in _SPECIAL:
            continue
        if key in _UNFILTERABLE:
            raise BadRequest(f"Invalid filter: {key}")
        if _as_text(doc.get(key)) != wanted:
            return False
    return True


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _sort_value(record: ImageRecord, key: str) -> tuple[Any, ...]:
    value = record.doc.get(key)
    primary = (value is not None, value if value is not None else 0)
    return (primary, record.doc.get("created_at", ""), record.id)


def _link(items: list[tuple[str, str]], marker: str | None) -> str:
    kept = [(k, v) for k, v in items if k != "marker"]
    if marker is not None:
        kept.append(("marker", marker))
    return "/v2/images" + (f"?{urlencode(kept)}" if kept else "")
