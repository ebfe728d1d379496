"""Swift's listing walk: prefix, delimiter (any length), path, marker and limit.

Pages of rows come from the store in name order; this module rolls names up into
``subdir`` entries and skips past them the way Swift's container broker does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

Page = Callable[[str, int], list[dict[str, Any]]]


@dataclass
class ListingQuery:
    """The query parameters every Swift listing takes."""

    prefix: str = ""
    delimiter: str = ""
    marker: str = ""
    end_marker: str = ""
    limit: int = 10000
    reverse: bool = False

    path: str | None = None

    def with_marker(self, marker: str) -> ListingQuery:
        return replace(self, marker=marker)

    @property
    def effective(self) -> ListingQuery:
        """``path=p`` means prefix ``p/`` and delimiter ``/``, without subdir entries."""
        if self.path is None:
            return self
        prefix = self.path.rstrip("/") + "/" if self.path else ""
        return replace(self, prefix=prefix, delimiter="/")


def walk(page: Page, query: ListingQuery) -> Iterator[dict[str, Any]]:
    """Apply prefix/delimiter/path/limit the way Swift's container server does."""
    path_mode = query.path is not None
    query = query.effective
    emitted, marker = 0, query.marker
    while emitted < query.limit:
        wanted = query.limit - emitted
        rows = page(marker, wanted)
        jumped = False
        for row in rows:
            marker = row["name"]
            if path_mode and row["name"] == query.prefix:
                continue
            subdir = _subdir(row["name"], query)
            if subdir is not None and not (path_mode and subdir == row["name"]):
                if not path_mode and subdir != query.marker:
                    yield {"subdir": subdir}
                    emitted += 1
                marker = subdir if query.reverse else subdir[:-1] + chr(ord(subdir[-1]) + 1)
                jumped = True
                break
            yield row
            emitted += 1
        if not jumped and len(rows) < wanted:
            return


def _subdir(name: str, query: ListingQuery) -> str | None:
    if not query.delimiter:
        return None
    rest = name[len(query.prefix) :]
    cut = rest.find(query.delimiter)
    return None if cut < 0 else query.prefix + rest[: cut + len(query.delimiter)]
