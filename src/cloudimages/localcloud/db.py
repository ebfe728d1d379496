"""SQLite persistence shared by every local-cloud service.

One file in the data dir holds accounts, tokens and object-store metadata, so
state survives a restart. Object bytes live beside it as files (see
``objects.blobs``); the database only points at them, which is what makes an
upload appear atomically: the row is written after the bytes are in place.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    username TEXT PRIMARY KEY,
    api_key TEXT NOT NULL,
    password TEXT NOT NULL,
    tenant_id TEXT NOT NULL UNIQUE,
    storage_account TEXT NOT NULL UNIQUE,
    default_region TEXT NOT NULL,
    is_admin INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS swift_accounts (
    region TEXT NOT NULL,
    account TEXT NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    PRIMARY KEY (region, account)
);
CREATE TABLE IF NOT EXISTS containers (
    region TEXT NOT NULL,
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    PRIMARY KEY (region, account, name)
);
CREATE TABLE IF NOT EXISTS objects (
    region TEXT NOT NULL,
    account TEXT NOT NULL,
    container TEXT NOT NULL,
    name TEXT NOT NULL,
    blob TEXT,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    content_type TEXT NOT NULL,
    timestamp REAL NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}',
    delete_at REAL,
    PRIMARY KEY (region, account, container, name)
);
CREATE INDEX IF NOT EXISTS objects_by_blob ON objects (blob);
CREATE TABLE IF NOT EXISTS images (
    region TEXT NOT NULL,
    id TEXT NOT NULL,
    owner TEXT NOT NULL,
    doc TEXT NOT NULL,
    blob TEXT,
    created_at REAL NOT NULL,
    PRIMARY KEY (region, id)
);
CREATE INDEX IF NOT EXISTS images_newest_first
    ON images (region, json_extract(doc, '$.created_at'), id);
CREATE TABLE IF NOT EXISTS members (
    region TEXT NOT NULL,
    image_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (region, image_id, member_id)
);
CREATE INDEX IF NOT EXISTS members_by_member ON members (region, member_id);
CREATE TABLE IF NOT EXISTS tasks (
    region TEXT NOT NULL,
    id TEXT NOT NULL,
    owner TEXT NOT NULL,
    doc TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (region, id)
);
"""


class Database:
    """A thread-safe SQLite connection: one writer at a time, short transactions."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(SCHEMA)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """Run the block as one transaction, rolled back if it raises."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        """Read rows outside any explicit transaction."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Row | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def close(self) -> None:
        with self._lock:
            self._conn.close()
