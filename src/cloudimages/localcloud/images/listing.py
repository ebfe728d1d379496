"""``GET /images``: the visible images, every filter of the spec, sorting, paging.

Which images a caller may list is the dialect's (``visible_where``); SQLite
orders them (``sort_key``/``sort_dir``, or the dialect's ``sort=``) and starts
after the marker (see ``query``); any unknown query parameter then filters on
an image property by exact match, checked here on the rows as they arrive, a
batch at a time, until the page is full.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from ..accounts import Account
from .dialect import ImagesDialect
from .errors import BadRequest
from .query import Order, Where, after, full_order, order_by, sort_values
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
    limit = parse_limit(params.get("limit"))
    order = full_order(dialect.sort_keys(params) or [parse_sort(params)])
    visible = dialect.visible_where(store, caller, params)
    filters = Filters.parse(params, [v for k, v in items if k == "tag"], dialect.list_params)
    start = visible
    marker = params.get("marker")
    if marker is not None:
        record = store.get_image(marker)
        if record is None or not dialect.can_see(store, record, caller):
            raise BadRequest(f"Invalid marker. Image {marker} could not be found.")
        start = after(order, sort_values(record, order)) & visible  # the cheap test first
    page = _page(store, visible, start, order, limit=limit, filters=filters) if limit else []
    body: dict[str, Any] = {
        "images": [dialect.view(r) for r in page],
        "first": _link(items, None),
        "schema": "/v2/schemas/images",
    }
    if limit and len(page) == limit:
        body["next"] = _link(items, page[-1].id)
    return body


def _page(
    store: ImageStore, visible: Where, start: Where, order: Order, *, limit: int, filters: Filters
) -> list[ImageRecord]:
    """The first ``limit`` images from ``start`` that pass ``filters``, read a batch at a time."""
    batch = limit if filters.empty else max(limit, 100)
    sql_order = order_by(order)
    page: list[ImageRecord] = []
    where = start
    while True:
        rows = store.select_images(where.sql, where.args, sql_order, batch)
        kept = rows if filters.empty else [r for r in rows if filters.match(r)]
        page += kept[: limit - len(page)]
        if len(page) == limit or len(rows) < batch:
            return page
        where = after(order, sort_values(rows[-1], order)) & visible


@dataclass(frozen=True)
class Filters:
    """The filters of a list request, checked before any image is read."""

    tags: list[str]
    size_min: int | None
    size_max: int | None
    exact: dict[str, str]  # property -> wanted value as text

    @classmethod
    def parse(
        cls, params: dict[str, str], tags: list[str], dialect_params: frozenset[str]
    ) -> Filters:
        special = _SPECIAL | dialect_params
        exact = {k: v for k, v in params.items() if k not in special}
        refused = sorted(set(exact) & _UNFILTERABLE)
        if refused:
            raise BadRequest(f"Invalid filter: {refused[0]}")
        return cls(tags, _bound(params, "size_min"), _bound(params, "size_max"), exact)

    @property
    def empty(self) -> bool:
        return not (self.tags or self.exact) and self.size_min is None and self.size_max is None

    def match(self, record: ImageRecord) -> bool:
        doc = record.doc
        if any(tag not in doc.get("tags", []) for tag in self.tags):
            return False
        size = doc.get("size")
        if self.size_min is not None and (size is None or size < self.size_min):
            return False
        if self.size_max is not None and (size is None or size > self.size_max):
            return False
        return all(_as_text(doc.get(key)) == wanted for key, wanted in self.exact.items())


def _bound(params: dict[str, str], name: str) -> int | None:
    if name not in params:
        return None
    try:
        return int(params[name])
    except ValueError:
        raise BadRequest(f"Invalid value for {name}: {params[name]}") from None


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _link(items: list[tuple[str, str]], marker: str | None) -> str:
    kept = [(k, v) for k, v in items if k != "marker"]
    if marker is not None:
        kept.append(("marker", marker))
    return "/v2/images" + (f"?{urlencode(kept)}" if kept else "")
