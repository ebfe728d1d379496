"""Keystone v3 state that changes at run time: tokens and application credentials.

Both live in the local cloud's SQLite file (tables prefixed ``ks_``, created here), so
tokens outlive a restart as Fernet tokens outlive a Keystone restart, and application
credentials persist like any other Keystone resource. Secrets are stored hashed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from ..db import Database

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS ks_tokens (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        project_id TEXT,
        system INTEGER NOT NULL DEFAULT 0,
        methods TEXT NOT NULL,
        roles TEXT NOT NULL,
        app_cred_id TEXT,
        audit_ids TEXT NOT NULL,
        issued_at REAL NOT NULL,
        expires_at REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS ks_app_creds (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        project_id TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT,
        secret_hash TEXT NOT NULL,
        roles TEXT NOT NULL,
        expires_at REAL,
        unrestricted INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        UNIQUE (user_id, name)
    )""",
)


@dataclass(frozen=True)
class Token:
    """An issued token: who, scoped to what, with which roles, until when."""

    id: str
    user_id: str
    project_id: str | None
    system: bool
    methods: list[str]
    roles: list[str]
    app_cred_id: str | None
    audit_ids: list[str]
    issued_at: float
    expires_at: float


@dataclass(frozen=True)
class AppCredential:
    id: str
    user_id: str
    project_id: str
    name: str
    description: str | None
    roles: list[str]
    expires_at: float | None
    unrestricted: bool


def hash_secret(secret: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(8)
    digest = hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()
    return f"{salt}${digest}"


def secret_matches(secret: str, stored: str) -> bool:
    salt, _, _ = stored.partition("$")
    return hmac.compare_digest(hash_secret(secret, salt), stored)


class KeystoneStore:
    """Tokens and application credentials in the shared database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        with db.tx() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)

    # tokens ----------------------------------------------------------------------------
    def issue(self, token: Token) -> None:
        with self._db.tx() as conn:
            conn.execute("DELETE FROM ks_tokens WHERE expires_at < ?", (time.time(),))
            conn.execute(
                "INSERT INTO ks_tokens VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    token.id,
                    token.user_id,
                    token.project_id,
                    int(token.system),
                    json.dumps(token.methods),
                    json.dumps(token.roles),
                    token.app_cred_id,
                    json.dumps(token.audit_ids),
                    token.issued_at,
                    token.expires_at,
                ),
            )

    def token(self, token_id: str) -> Token | None:
        """The token if it exists and has not expired."""
        row = self._db.query_one("SELECT * FROM ks_tokens WHERE id = ?", (token_id,))
        if row is None or row["expires_at"] <= time.time():
            return None
        return Token(
            id=row["id"],
            user_id=row["user_id"],
            project_id=row["project_id"],
            system=bool(row["system"]),
            methods=json.loads(row["methods"]),
            roles=json.loads(row["roles"]),
            app_cred_id=row["app_cred_id"],
            audit_ids=json.loads(row["audit_ids"]),
            issued_at=row["issued_at"],
            expires_at=row["expires_at"],
        )

    def revoke(self, token_id: str) -> None:
        with self._db.tx() as conn:
            conn.execute("DELETE FROM ks_tokens WHERE id = ?", (token_id,))

    # application credentials -------------------------------------------------------------
    def add_app_cred(self, cred: AppCredential, secret: str) -> bool:
        """Store a new credential; False when the user already has one of that name."""
        with self._db.tx() as conn:
            taken = conn.execute(
                "SELECT 1 FROM ks_app_creds WHERE user_id = ? AND name = ?",
                (cred.user_id, cred.name),
            ).fetchone()
            if taken:
                return False
            conn.execute(
                "INSERT INTO ks_app_creds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    cred.id,
                    cred.user_id,
                    cred.project_id,
                    cred.name,
                    cred.description,
                    hash_secret(secret),
                    json.dumps(cred.roles),
                    cred.expires_at,
                    int(cred.unrestricted),
                    time.time(),
                ),
            )
        return True

    def app_cred(self, cred_id: str) -> tuple[AppCredential, str] | None:
        """The credential and its stored secret hash."""
        row = self._db.query_one("SELECT * FROM ks_app_creds WHERE id = ?", (cred_id,))
        return (_app_cred(row), row["secret_hash"]) if row else None

    def app_cred_by_name(self, user_id: str, name: str) -> tuple[AppCredential, str] | None:
        row = self._db.query_one(
            "SELECT * FROM ks_app_creds WHERE user_id = ? AND name = ?", (user_id, name)
        )
        return (_app_cred(row), row["secret_hash"]) if row else None

    def app_creds_of(self, user_id: str) -> list[AppCredential]:
        rows = self._db.query(
            "SELECT * FROM ks_app_creds WHERE user_id = ? ORDER BY created_at", (user_id,)
        )
        return [_app_cred(r) for r in rows]

    def delete_app_cred(self, cred_id: str) -> None:
        """Delete the credential and every token issued with it, as Keystone revokes them."""
        with self._db.tx() as conn:
            conn.execute("DELETE FROM ks_app_creds WHERE id = ?", (cred_id,))
            conn.execute("DELETE FROM ks_tokens WHERE app_cred_id = ?", (cred_id,))


def _app_cred(row: Any) -> AppCredential:
    return AppCredential(
        id=row["id"],
        user_id=row["user_id"],
        project_id=row["project_id"],
        name=row["name"],
        description=row["description"],
        roles=json.loads(row["roles"]),
        expires_at=row["expires_at"],
        unrestricted=bool(row["unrestricted"]),
    )
