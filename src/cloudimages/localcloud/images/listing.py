"""``GET /images``: the visible union, every filter of the spec, sorting, paging.

Which images a list starts from is the dialect's (``visible_union``); then any
unknown query parameter filters on an image property by exact match, the result is
sorted (``sort_key``/``sort_dir``, or the dialect's ``sort=``) and paged by marker.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlencode

from ..accounts import Account
from .dialect import ImagesDialect
from .errors import BadRequest
from .store import ImageRecord, ImageStore

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
_SPECIAL = frozenset(
    {
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
)
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


def list_images(
    store: ImageStore, caller: Account, items: list[tuple[str, str]], dialect: ImagesDialect
) -> dict[str, Any]:
    params = dict(items)
    tags = [v for k, v in items if k == "tag"]
    limit = parse_limit(params.get("limit"))
    keys = dialect.sort_keys(params) or [parse_sort(params)]
    union = dialect.visible_union(store, caller, params)
    special = _SPECIAL | dialect.list_params
    chosen = [r for r in union if _matches(r, params, tags, special)]
    chosen.sort(key=functools.cmp_to_key(functools.partial(_compare, keys=keys)))
    marker = params.get("marker")
    if marker is not None:
        record = store.get_image(marker)
        if record is None or not dialect.can_see(store, record, caller):
            raise BadRequest(f"Invalid marker. Image {marker} could not be found.")
        chosen = [r for r in chosen if _compare(r, record, keys) > 0]
    page = chosen[:limit]
    body: dict[str, Any] = {
        "images": [dialect.view(r) for r in page],
        "first": _link(items, None),
        "schema": "/v2/schemas/images",
    }
    if limit and len(page) == limit:
        body["next"] = _link(items, page[-1].id)
    return body


def _compare(a: ImageRecord, b: ImageRecord, keys: list[tuple[str, str]]) -> int:
    """Order by each (key, direction); ties by created_at and id in the last direction."""
    tie_break = [("created_at", keys[-1][1]), ("id", keys[-1][1])]
    for key, direction in (*keys, *tie_break):
        left, right = _sort_value(a, key), _sort_value(b, key)
        if left != right:
            ascending = -1 if left < right else 1
            return ascending if direction == "asc" else -ascending
    return 0


def _matches(
    record: ImageRecord, params: dict[str, str], tags: list[str], special: frozenset[str]
) -> bool:
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
        if key in special:
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


def _sort_value(record: ImageRecord, key: str) -> tuple[bool, Any]:
    value = record.doc.get(key)
    return (value is not None, value if value is not None else 0)


def _link(items: list[tuple[str, str]], marker: str | None) -> str:
    kept = [(k, v) for k, v in items if k != "marker"]
    if marker is not None:
        kept.append(("marker", marker))
    return "/v2/images" + (f"?{urlencode(kept)}" if kept else "")
