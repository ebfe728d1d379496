"""Object-store metadata for one region: accounts, containers, objects, listings.

Rows reference immutable blobs; replacing or deleting an object swaps the row
first and removes the old blob after, so a reader never sees half an object.
Names compare as UTF-8 bytes (SQLite's BINARY collation), Swift's listing order.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..db import Database
from .blobs import BlobStore
from .http import header_text
from .walk import ListingQuery, walk

__all__ = ["ListingQuery", "ObjectStore"]


@dataclass
class ObjectRecord:
    """One stored object: its bytes' blob and the headers Swift keeps with it."""

    container: str
    name: str
    blob: str | None
    size: int
    etag: str
    content_type: str
    timestamp: float
    meta: dict[str, str] = field(default_factory=dict)
    delete_at: float | None = None

    @property
    def is_slo(self) -> bool:
        return self.meta.get("x-static-large-object", "").lower() == "true"

    @property
    def dlo_manifest(self) -> str | None:
        return self.meta.get("x-object-manifest")


@dataclass
class ContainerRecord:
    name: str
    meta: dict[str, str]
    created_at: float


class ContainerNotEmpty(Exception):
    pass


class ObjectStore:
    """Metadata of one region's Cloud Files, shared by every account in it."""

    def __init__(self, db: Database, blobs: BlobStore, region: str) -> None:
        self.db = db
        self.blobs = blobs
        self.region = region

    # accounts -----------------------------------------------------------------
    def account_meta(self, account: str) -> tuple[dict[str, str], float]:
        row = self.db.query_one(
            "SELECT meta, created_at FROM swift_accounts WHERE region=? AND account=?",
            (self.region, account),
        )
        if row is None:
            now = time.time()
            with self.db.tx() as conn:
                conn.execute(
                    "INSERT OR IGNORE INTO swift_accounts VALUES (?, ?, '{}', ?)",
                    (self.region, account, now),
                )
            return {}, now
        return json.loads(row["meta"]), row["created_at"]

    def update_account_meta(self, account: str, updates: dict[str, str | None]) -> None:
        meta, _ = self.account_meta(account)
        _apply(meta, updates)
        with self.db.tx() as conn:
            conn.execute(
                "UPDATE swift_accounts SET meta=? WHERE region=? AND account=?",
                (json.dumps(meta), self.region, account),
            )

    def account_stats(self, account: str) -> tuple[int, int, int]:
        """(containers, objects, bytes) as HEAD on an account reports them."""
        containers = self.db.query_one(
            "SELECT COUNT(*) AS n FROM containers WHERE region=? AND account=?",
            (self.region, account),
        )
        objects = self.db.query_one(
            "SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS b FROM objects"
            " WHERE region=? AND account=?",
            (self.region, account),
        )
        assert containers is not None
        assert objects is not None
        return containers["n"], objects["n"], objects["b"]

    # containers ---------------------------------------------------------------
    def get_container(self, account: str, name: str) -> ContainerRecord | None:
        row = self.db.query_one(
            "SELECT name, meta, created_at FROM containers WHERE region=? AND account=? AND name=?",
            (self.region, account, name),
        )
        if row is None:
            return None
        return ContainerRecord(row["name"], json.loads(row["meta"]), row["created_at"])

    def container_stats(self, account: str, name: str) -> tuple[int, int]:
        """(objects, bytes) of a container: an aggregate, so only HEAD/GET/listings ask."""
        stats = self.db.query_one(
            "SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS b FROM objects"
            " WHERE region=? AND account=? AND container=?",
            (self.region, account, name),
        )
        assert stats is not None
        return stats["n"], stats["b"]

    def create_container(self, account: str, name: str, meta: dict[str, str | None]) -> bool:
        """Create or update a container; True when it did not exist before."""
        existing = self.get_container(account, name)
        stored = existing.meta if existing else {}
        _apply(stored, meta)
        with self.db.tx() as conn:
            conn.execute(
                "INSERT INTO containers VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (region, account, name) DO UPDATE SET meta=excluded.meta",
                (self.region, account, name, json.dumps(stored), time.time()),
            )
        return existing is None

    def update_container_meta(self, account: str, name: str, meta: dict[str, str | None]) -> None:
        self.create_container(account, name, meta)

    def delete_container(self, account: str, name: str) -> None:
        with self.db.tx() as conn:
            if conn.execute(
                "SELECT 1 FROM objects WHERE region=? AND account=? AND container=? LIMIT 1",
                (self.region, account, name),
            ).fetchone():
                raise ContainerNotEmpty(name)
            conn.execute(
                "DELETE FROM containers WHERE region=? AND account=? AND name=?",
                (self.region, account, name),
            )

    def list_containers(self, account: str, query: ListingQuery) -> list[dict[str, Any]]:
        def page(marker: str, limit: int) -> list[Any]:
            sql = "SELECT name, created_at FROM containers WHERE region=? AND account=?"
            return self._page(sql, (self.region, account), query, marker, limit)

        items = []
        for entry in walk(page, query):
            if "subdir" in entry:
                items.append(entry)
                continue
            record = self.get_container(account, entry["name"])
            if record is None:
                continue
            count, used = self.container_stats(account, record.name)
            items.append(
                {
                    "name": record.name,
                    "count": count,
                    "bytes": used,
                    "last_modified": listing_time(
                        float(record.meta.get("x-container-sysmeta-modified", record.created_at))
                    ),
                    "storage_policy": "Policy-0",
                }
            )
        return items

    # objects --------------------------------------------------------------------
    def get_object(self, account: str, container: str, name: str) -> ObjectRecord | None:
        row = self.db.query_one(
            "SELECT * FROM objects WHERE region=? AND account=? AND container=? AND name=?",
            (self.region, account, container, name),
        )
        if row is None:
            return None
        record = _object(row)
        if record.delete_at is not None and record.delete_at <= time.time():
            self.delete_object(account, container, name)
            return None
        return record

    def put_object(self, account: str, record: ObjectRecord) -> None:
        """Insert or replace an object row; the blob it replaces is deleted after."""
        with self.db.tx() as conn:
            old = conn.execute(
                "SELECT blob FROM objects WHERE region=? AND account=? AND container=? AND name=?",
                (self.region, account, record.container, record.name),
            ).fetchone()
            conn.execute(
                "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.region,
                    account,
                    record.container,
                    record.name,
                    record.blob,
                    record.size,
                    record.etag,
                    record.content_type,
                    record.timestamp,
                    json.dumps(record.meta),
                    record.delete_at,
                ),
            )
        if old and old["blob"] != record.blob and not self._blob_in_use(old["blob"]):
            self.blobs.delete(old["blob"])

    def delete_object(self, account: str, container: str, name: str) -> bool:
        with self.db.tx() as conn:
            row = conn.execute(
                "SELECT blob FROM objects WHERE region=? AND account=? AND container=? AND name=?",
                (self.region, account, container, name),
            ).fetchone()
            if row is None:
                return False
            conn.execute(
                "DELETE FROM objects WHERE region=? AND account=? AND container=? AND name=?",
                (self.region, account, container, name),
            )
        if not self._blob_in_use(row["blob"]):
            self.blobs.delete(row["blob"])
        return True

    def _blob_in_use(self, blob: str | None) -> bool:
        if blob is None:
            return True
        return self.db.query_one("SELECT 1 FROM objects WHERE blob=? LIMIT 1", (blob,)) is not None

    def list_objects(
        self, account: str, container: str, query: ListingQuery
    ) -> list[dict[str, Any]]:
        now = time.time()

        def page(marker: str, limit: int) -> list[Any]:
            sql = (
                "SELECT * FROM objects WHERE region=? AND account=? AND container=?"
                " AND (delete_at IS NULL OR delete_at > ?)"
            )
            return self._page(sql, (self.region, account, container, now), query, marker, limit)

        items = []
        for entry in walk(page, query):
            items.append(entry if "subdir" in entry else _listing_entry(_object(entry["row"])))
        return items

    def iter_prefix(self, account: str, container: str, prefix: str) -> Iterator[ObjectRecord]:
        """Every live object under a prefix in name order (DLO segments)."""
        query = ListingQuery(prefix=prefix, limit=1000)
        marker = ""
        while True:
            rows = self.list_objects(account, container, query.with_marker(marker))
            if not rows:
                return
            for entry in rows:
                record = self.get_object(account, container, entry["name"])
                if record is not None:
                    yield record
            marker = rows[-1]["name"]

    def _page(
        self,
        sql: str,
        params: tuple[object, ...],
        query: ListingQuery,
        marker: str,
        limit: int,
    ) -> list[Any]:
        query = query.effective
        clauses, args = [sql], list(params)
        if query.reverse:
            if marker:
                clauses.append("AND name < ?")
                args.append(marker)
            if query.end_marker:
                clauses.append("AND name > ?")
                args.append(query.end_marker)
        else:
            if marker:
                clauses.append("AND name > ?")
                args.append(marker)
            if query.end_marker:
                clauses.append("AND name < ?")
                args.append(query.end_marker)
        if query.prefix:
            clauses.append("AND substr(name, 1, ?) = ?")
            args += [len(query.prefix), query.prefix]
        clauses.append(f"ORDER BY name {'DESC' if query.reverse else 'ASC'} LIMIT ?")
        args.append(limit)
        rows = self.db.query(" ".join(clauses), tuple(args))
        return [{"name": r["name"], "row": r} for r in rows]


def listing_time(ts: float) -> str:
    """Swift's listing timestamp: ISO-8601 with microseconds, no zone."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1e6):06d}"


def _listing_entry(record: ObjectRecord) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": record.name,
        "hash": record.etag,
        "bytes": record.size,
        "content_type": header_text(record.content_type),
        "last_modified": listing_time(record.timestamp),
    }
    if record.is_slo:
        entry["bytes"] = int(record.meta.get("x-object-sysmeta-slo-size", record.size))
        entry["hash"] = record.meta.get("x-object-sysmeta-manifest-etag", record.etag)
        entry["slo_etag"] = f'"{record.meta.get("x-object-sysmeta-slo-etag", "")}"'
    return entry


def _object(row: Any) -> ObjectRecord:
    return ObjectRecord(
        container=row["container"],
        name=row["name"],
        blob=row["blob"],
        size=row["size"],
        etag=row["etag"],
        content_type=row["content_type"],
        timestamp=row["timestamp"],
        meta=json.loads(row["meta"]),
        delete_at=row["delete_at"],
    )


def _apply(meta: dict[str, str], updates: dict[str, str | None]) -> None:
    for key, value in updates.items():
        if value is None or value == "":
            meta.pop(key, None)
        else:
            meta[key] = value
