"""Cloud Images state for one region: images, members and tasks in SQLite.

Images and tasks are kept as their API documents (JSON), so what the service
returns is exactly what it stored; members are rows because they are queried
by image and by consumer.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..db import Database


def now_iso(ts: float | None = None) -> str:
    """Glance's timestamp form: ISO-8601 UTC, second precision, ``Z``."""
    moment = datetime.fromtimestamp(time.time() if ts is None else ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ImageRecord:
    doc: dict[str, Any]
    blob: str | None

    @property
    def id(self) -> str:
        return str(self.doc["id"])

    @property
    def owner(self) -> str:
        return str(self.doc["owner"])


@dataclass
class MemberRecord:
    image_id: str
    member_id: str
    status: str
    created_at: float
    updated_at: float

    def doc(self) -> dict[str, Any]:
        return {
            "image_id": self.image_id,
            "member_id": self.member_id,
            "status": self.status,
            "created_at": now_iso(self.created_at),
            "updated_at": now_iso(self.updated_at),
            "schema": "/v2/schemas/member",
        }


class ImageStore:
    """Images, members and tasks of one region."""

    def __init__(self, db: Database, region: str) -> None:
        self.db = db
        self.region = region

    # images -------------------------------------------------------------------
    def put_image(self, record: ImageRecord) -> None:
        with self.db.tx() as conn:
            conn.execute(
                "INSERT INTO images VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (region, id) DO UPDATE SET doc=excluded.doc, blob=excluded.blob,"
                " owner=excluded.owner",
                (
                    self.region,
                    record.id,
                    record.owner,
                    json.dumps(record.doc),
                    record.blob,
                    time.time(),
                ),
            )

    def get_image(self, image_id: str) -> ImageRecord | None:
        row = self.db.query_one(
            "SELECT doc, blob FROM images WHERE region=? AND id=?", (self.region, image_id)
        )
        return ImageRecord(json.loads(row["doc"]), row["blob"]) if row else None

    def all_images(self) -> list[ImageRecord]:
        rows = self.db.query(
            "SELECT doc, blob FROM images WHERE region=? ORDER BY created_at", (self.region,)
        )
        return [ImageRecord(json.loads(r["doc"]), r["blob"]) for r in rows]

    def select_images(
        self, condition: str, args: tuple[object, ...], order_by: str, limit: int
    ) -> list[ImageRecord]:
        """Up to ``limit`` images meeting a SQL ``condition``, in SQL ``order_by`` order.

        Both come from ``query``, which builds them from fixed field names only.
        """
        rows = self.db.query(
            f"SELECT doc, blob FROM images WHERE region = ? AND ({condition})"
            f" ORDER BY {order_by} LIMIT ?",
            (self.region, *args, limit),
        )
        return [ImageRecord(json.loads(r["doc"]), r["blob"]) for r in rows]

    def delete_image(self, image_id: str) -> None:
        with self.db.tx() as conn:
            conn.execute("DELETE FROM images WHERE region=? AND id=?", (self.region, image_id))
            conn.execute(
                "DELETE FROM members WHERE region=? AND image_id=?", (self.region, image_id)
            )

    # members ------------------------------------------------------------------
    def members(self, image_id: str) -> list[MemberRecord]:
        rows = self.db.query(
            "SELECT * FROM members WHERE region=? AND image_id=? ORDER BY created_at",
            (self.region, image_id),
        )
        return [_member(r) for r in rows]

    def member(self, image_id: str, member_id: str) -> MemberRecord | None:
        row = self.db.query_one(
            "SELECT * FROM members WHERE region=? AND image_id=? AND member_id=?",
            (self.region, image_id, member_id),
        )
        return _member(row) if row else None

    def memberships(self, member_id: str) -> dict[str, str]:
        """image id → this consumer's member status, for every image shared with it."""
        rows = self.db.query(
            "SELECT image_id, status FROM members WHERE region=? AND member_id=?",
            (self.region, member_id),
        )
        return {r["image_id"]: r["status"] for r in rows}

    def add_member(self, image_id: str, member_id: str) -> MemberRecord:
        now = time.time()
        with self.db.tx() as conn:
            conn.execute(
                "INSERT INTO members VALUES (?, ?, ?, 'pending', ?, ?)",
                (self.region, image_id, member_id, now, now),
            )
        return MemberRecord(image_id, member_id, "pending", now, now)

    def set_member_status(self, image_id: str, member_id: str, status: str) -> MemberRecord:
        with self.db.tx() as conn:
            conn.execute(
                "UPDATE members SET status=?, updated_at=? WHERE region=? AND image_id=?"
                " AND member_id=?",
                (status, time.time(), self.region, image_id, member_id),
            )
        found = self.member(image_id, member_id)
        assert found is not None
        return found

    def remove_member(self, image_id: str, member_id: str) -> None:
        with self.db.tx() as conn:
            conn.execute(
                "DELETE FROM members WHERE region=? AND image_id=? AND member_id=?",
                (self.region, image_id, member_id),
            )

    # tasks --------------------------------------------------------------------
    def put_task(self, doc: dict[str, Any]) -> None:
        with self.db.tx() as conn:
            conn.execute(
                "INSERT INTO tasks VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (region, id) DO UPDATE SET doc=excluded.doc",
                (self.region, doc["id"], doc["owner"], json.dumps(doc), time.time()),
            )

    def get_task(self, task_id: str) -> dict[str, Any] | None:
        row = self.db.query_one(
            "SELECT doc FROM tasks WHERE region=? AND id=?", (self.region, task_id)
        )
        return json.loads(row["doc"]) if row else None

    def tasks(self, owner: str | None = None) -> list[dict[str, Any]]:
        if owner is None:
            rows = self.db.query(
                "SELECT doc FROM tasks WHERE region=? ORDER BY created_at", (self.region,)
            )
        else:
            rows = self.db.query(
                "SELECT doc FROM tasks WHERE region=? AND owner=? ORDER BY created_at",
                (self.region, owner),
            )
        return [json.loads(r["doc"]) for r in rows]

    def delete_task(self, task_id: str) -> None:
        with self.db.tx() as conn:
            conn.execute("DELETE FROM tasks WHERE region=? AND id=?", (self.region, task_id))


def _member(row: Any) -> MemberRecord:
    return MemberRecord(
        row["image_id"], row["member_id"], row["status"], row["created_at"], row["updated_at"]
    )
