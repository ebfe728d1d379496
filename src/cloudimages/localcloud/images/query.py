"""The SQL of an image list: which images, in which order, after which marker.

A list is read from SQLite a page at a time, so it costs about the page, not
the number of images: the images a caller may list are a WHERE clause each
dialect writes (``ImagesDialect.visible_where``), the order is an ORDER BY over
the documents' own fields (an index serves the default, newest first), and a
marker becomes a keyset condition: the rows that sort after it. NULLs sort
first ascending and last descending, as ``listing`` always ordered them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .store import ImageRecord

Order = Sequence[tuple[str, str]]  # (field, "asc" | "desc"), most significant first
_FIELD = re.compile(r"^[a-z_]+$")


@dataclass(frozen=True)
class Where:
    """A SQL condition over the ``images`` table and its parameters."""

    sql: str
    args: tuple[object, ...] = ()

    def __and__(self, other: Where) -> Where:
        return Where(f"({self.sql}) AND ({other.sql})", self.args + other.args)

    def __or__(self, other: Where) -> Where:
        return Where(f"({self.sql}) OR ({other.sql})", self.args + other.args)


EVERYTHING = Where("1")


def field(name: str) -> str:
    """The SQL expression of a top-level field of an image document (a fixed name only)."""
    if not _FIELD.match(name):
        msg = f"not a field name for SQL: {name!r}"
        raise ValueError(msg)
    return "id" if name == "id" else f"json_extract(doc, '$.{name}')"


def equals(name: str, value: object) -> Where:
    return Where(f"{field(name)} = ?", (value,))


def owned_by(tenant: str) -> Where:
    return Where("owner = ?", (tenant,))


def shared_with(region: str, tenant: str, member_status: str) -> Where:
    """Images with ``tenant`` as a member in ``member_status`` (``all``: any status)."""
    sql = "id IN (SELECT image_id FROM members WHERE region = ? AND member_id = ?"
    if member_status == "all":
        return Where(sql + ")", (region, tenant))
    return Where(sql + " AND status = ?)", (region, tenant, member_status))


def full_order(keys: Order) -> list[tuple[str, str]]:
    """The requested keys, then created_at and id in the last key's direction: a total order."""
    last = keys[-1][1]
    order: list[tuple[str, str]] = []
    for name, direction in (*keys, ("created_at", last), ("id", last)):
        if all(name != seen for seen, _ in order):  # a repeated key can never decide
            order.append((name, direction))
    return order


def order_by(order: Order) -> str:
    return ", ".join(f"{field(name)} {direction.upper()}" for name, direction in order)


def sort_values(record: ImageRecord, order: Order) -> list[object]:
    """The record's values of the order's fields, as SQLite's json_extract reads them."""
    return [record.id if name == "id" else record.doc.get(name) for name, _ in order]


def after(order: Order, values: Sequence[object]) -> Where:
    """The rows that sort strictly after a row with these ``values`` of the ``order``."""
    terms: list[str] = []
    args: list[object] = []
    same: list[str] = []
    same_args: list[object] = []
    for (name, direction), value in zip(order, values, strict=True):
        expr = field(name)
        beyond, beyond_args = _beyond(expr, direction, value)
        terms.append(" AND ".join([*same, beyond]))
        args += [*same_args, *beyond_args]
        same.append(f"{expr} IS ?")
        same_args.append(value)
    return Where(" OR ".join(f"({term})" for term in terms), tuple(args))


def _beyond(expr: str, direction: str, value: object) -> tuple[str, tuple[object, ...]]:
    """``expr`` sorts after ``value``: NULL is below everything, ascending or descending."""
    if direction == "asc":
        return (f"{expr} IS NOT NULL", ()) if value is None else (f"{expr} > ?", (value,))
    return ("0", ()) if value is None else (f"({expr} < ? OR {expr} IS NULL)", (value,))
