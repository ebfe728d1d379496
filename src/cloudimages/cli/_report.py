"""Human summaries of pipeline reports: scalars as a list, lists of records as tables."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from ._common import console, format_value, key_value_table

#: Columns shown first, in this order, when a list of records becomes a table.
_FIRST_COLUMNS = (
    "account",
    "consumer",
    "member_id",
    "region",
    "mode",
    "image_id",
    "status",
    "skipped",
    "message",
)
_MAX_COLUMNS = 8


def report_dict(report: Any) -> dict[str, Any]:
    """A report as plain JSON data (pydantic models, dicts, or anything else)."""
    dump = getattr(report, "model_dump", None)
    if callable(dump):
        data = dump(mode="json")
        assert isinstance(data, dict)
        return data
    if isinstance(report, dict):
        return report
    return {"result": report}


def print_report(title: str, data: dict[str, Any]) -> None:
    """Print a report: its scalar fields, then one table per list of records."""
    scalars = {k: v for k, v in data.items() if not _is_records(v)}
    console.print(key_value_table(_flatten(scalars), title=title))
    for name, value in data.items():
        if _is_records(value):
            console.print(records_table(name.replace("_", " ").capitalize(), value))


def records_table(title: str, records: list[dict[str, Any]]) -> Table:
    keys: list[str] = []
    for record in records:
        keys += [k for k, v in record.items() if k not in keys and not isinstance(v, dict | list)]
    ordered = [k for k in _FIRST_COLUMNS if k in keys] + [
        k for k in keys if k not in _FIRST_COLUMNS
    ]
    columns = ordered[:_MAX_COLUMNS]
    table = Table(*columns, title=title, title_justify="left")
    for record in records:
        table.add_row(*(escape(format_value(record.get(k, ""))) for k in columns))
    return table


def _is_records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as ``outer.inner`` keys, so they fit a two-column list."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value and len(value) <= 12:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
