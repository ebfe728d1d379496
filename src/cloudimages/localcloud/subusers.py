"""Sub-users: the users an account owner creates inside its account, with RBAC roles.

Rackspace lets the account owner (``identity:user-admin``) add users to the account
(``identity:default``) and grant them product roles; for Cloud Files ``object-store:admin``
(create, read, update, delete) and ``object-store:observer`` (read), or the global
``admin`` / ``observer``.  A sub-user without such a role reaches Cloud Files only where
a container ACL names it, as a non-admin Swift user does.  Sub-users share the owner's
tenant and storage account; only their name, secrets and roles are their own.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .db import Database

if TYPE_CHECKING:
    from .accounts import Account

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subusers (
    username TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    api_key TEXT NOT NULL,
    password TEXT NOT NULL,
    roles TEXT NOT NULL DEFAULT '[]',
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at REAL NOT NULL
)
"""


@dataclass(frozen=True)
class Role:
    """An assignable role as ``GET /v2.0/OS-KSADM/roles`` lists it."""

    id: str
    name: str
    description: str


ASSIGNABLE_ROLES = (
    Role("10000150", "object-store:admin", "Object Store Admin Role for Account User"),
    Role("10000151", "object-store:observer", "Object Store Observer Role for Account User"),
    Role("10000152", "cloudimages:admin", "Cloud Images Admin Role for Account User"),
    Role("10000153", "cloudimages:observer", "Cloud Images Observer Role for Account User"),
    Role("6", "admin", "Full Access Admin Role for Account User"),
    Role("7", "observer", "Read-Only Access Role for Account User"),
)
ROLES_BY_ID = {r.id: r for r in ASSIGNABLE_ROLES}
FILES_WRITE_ROLES = frozenset({"object-store:admin", "admin"})
FILES_READ_ROLES = FILES_WRITE_ROLES | {"object-store:observer", "observer"}
_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9._@-]{0,99}$")


class SubUserError(Exception):
    """A sub-user request Identity refuses: ``status`` and Identity's fault name."""

    def __init__(self, status: int, fault: str, message: str) -> None:
        super().__init__(message)
        self.status, self.fault, self.message = status, fault, message


def user_id(username: str) -> str:
    """The stable numeric user id Identity shows for a username."""
    return str(int(hashlib.sha256(username.encode()).hexdigest()[:8], 16) % 10_000_000)


def role_documents(account: Account) -> list[dict[str, str]]:
    """The roles a sub-user holds, as its token and ``GET /users/{id}/roles`` show them."""
    if account.owner is None:
        return [{"id": "3", "name": "identity:user-admin", "description": "User Admin Role."}]
    held = [{"id": "2", "name": "identity:default", "description": "Default Role."}]
    by_name = {r.name: r for r in ASSIGNABLE_ROLES}
    for name in account.roles:
        role = by_name[name]
        held.append({"id": role.id, "name": role.name, "description": role.description})
    return held


def files_access(account: Account) -> str:
    """What a user may do in its own Cloud Files account: ``write``, ``read`` or ``none``."""
    if account.owner is None or FILES_WRITE_ROLES & set(account.roles):
        return "write"
    return "read" if FILES_READ_ROLES & set(account.roles) else "none"


class SubUsers:
    """Sub-users in the shared database (their own table, beside ``accounts``)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        with db.tx() as conn:
            conn.execute(_SCHEMA)

    def create(self, owner: Account, username: str, password: str | None) -> str:
        """Add a user to ``owner``'s account; returns its API key.  409 if the name is taken."""
        if not _USERNAME.match(username):
            raise SubUserError(400, "badRequest", "Username must begin with a letter.")
        if password is not None and not _strong(password):
            msg = (
                "Password must be at least 8 characters in length, must contain at least one"
                " uppercase letter, one lowercase letter, and one numeric character."
            )
            raise SubUserError(400, "badRequest", msg)
        api_key = secrets.token_hex(16)
        with self._db.tx() as conn:
            taken = conn.execute(
                "SELECT 1 FROM accounts WHERE username = ? UNION SELECT 1 FROM subusers"
                " WHERE username = ?",
                (username, username),
            ).fetchone()
            if taken:
                raise SubUserError(409, "conflict", f"Username {username} already exists")
            conn.execute(
                "INSERT INTO subusers VALUES (?, ?, ?, ?, '[]', 1, ?)",
                (username, owner.username, api_key, password or api_key, time.time()),
            )
        return api_key

    def delete(self, username: str) -> None:
        with self._db.tx() as conn:
            conn.execute("DELETE FROM subusers WHERE username = ?", (username,))
            conn.execute("DELETE FROM tokens WHERE username = ?", (username,))

    def set_role(self, username: str, role: str, *, granted: bool) -> None:
        """Grant or revoke one role; tokens already issued see the change at once."""
        with self._db.tx() as conn:
            row = conn.execute(
                "SELECT roles FROM subusers WHERE username = ?", (username,)
            ).fetchone()
            if row is None:
                return
            roles = [r for r in json.loads(row["roles"]) if r != role]
            if granted:
                roles.append(role)
            conn.execute(
                "UPDATE subusers SET roles = ? WHERE username = ?", (json.dumps(roles), username)
            )

    def of_owner(self, owner: str) -> list[str]:
        rows = self._db.query(
            "SELECT username FROM subusers WHERE owner = ? ORDER BY created_at", (owner,)
        )
        return [r["username"] for r in rows]

    def resolve(self, username: str, owner_account: Account | None) -> Account | None:
        """The sub-user seen as an ``Account``: the owner's tenant, its own name and roles."""
        row = self._db.query_one("SELECT * FROM subusers WHERE username = ?", (username,))
        if row is None or owner_account is None or not row["enabled"]:
            return None
        return replace(
            owner_account,
            username=username,
            api_key=row["api_key"],
            password=row["password"],
            is_admin=False,
            owner=owner_account.username,
            roles=tuple(json.loads(row["roles"])),
        )

    def owner_of(self, username: str) -> str | None:
        row = self._db.query_one("SELECT owner FROM subusers WHERE username = ?", (username,))
        return row["owner"] if row else None


def _strong(password: str) -> bool:
    return (
        len(password) >= 8
        and any(c.isupper() for c in password)
        and any(c.islower() for c in password)
        and any(c.isdigit() for c in password)
    )
