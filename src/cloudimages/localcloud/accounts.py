"""Accounts of the local cloud: users, their keys, tenants and storage accounts.

Tenant ids and Cloud Files account names are derived from the username, so an
account declared with ``--account`` has the same ids on every fresh data dir,
which lets scripts and tests rely on them.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass

from .db import Database
from .settings import AccountSpec
from .subusers import SubUsers

_STORAGE_NAMESPACE = uuid.UUID("6f1c3c1e-3a52-4cf5-9d0b-6b7f3e7d2a10")


@dataclass(frozen=True)
class Account:
    """One customer account as the services see it."""

    username: str
    api_key: str
    password: str
    tenant_id: str
    storage_account: str
    default_region: str
    is_admin: bool
    owner: str | None = None  # set for a sub-user: the username of the account owner
    roles: tuple[str, ...] = ()  # a sub-user's RBAC roles (see subusers.py)


def tenant_id_for(username: str, salt: int = 0) -> str:
    """A stable six-digit tenant id, like Rackspace account numbers."""
    digest = hashlib.sha256(f"{username}:{salt}".encode()).digest()
    return str(100000 + int.from_bytes(digest[:4], "big") % 900000)


def storage_account_for(username: str) -> str:
    """The ``MossoCloudFS_<uuid>`` name Cloud Files uses for this account."""
    return f"MossoCloudFS_{uuid.uuid5(_STORAGE_NAMESPACE, username)}"


class Accounts:
    """Reads and creates accounts in the shared database."""

    def __init__(self, db: Database, regions: tuple[str, ...]) -> None:
        self._db = db
        self._regions = regions
        self.subusers = SubUsers(db)

    def ensure(self, spec: AccountSpec) -> Account:
        """Create the account, or update its keys if it exists already."""
        region = (spec.default_region or self._regions[0]).upper()
        if region not in self._regions:
            region = self._regions[0]
        password = spec.password or spec.api_key
        with self._db.tx() as conn:
            row = conn.execute(
                "SELECT tenant_id FROM accounts WHERE username = ?", (spec.username,)
            ).fetchone()
            if row:
                conn.execute(
                    "UPDATE accounts SET api_key=?, password=?, default_region=?, is_admin=?"
                    " WHERE username=?",
                    (spec.api_key, password, region, int(spec.is_admin), spec.username),
                )
            else:
                tenant = self._free_tenant_id(conn, spec.username)
                conn.execute(
                    "INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        spec.username,
                        spec.api_key,
                        password,
                        tenant,
                        storage_account_for(spec.username),
                        region,
                        int(spec.is_admin),
                        time.time(),
                    ),
                )
        account = self.by_username(spec.username)
        assert account is not None
        return account

    @staticmethod
    def _free_tenant_id(conn: object, username: str) -> str:
        for salt in range(1000):
            tenant = tenant_id_for(username, salt)
            if not conn.execute(  # type: ignore[attr-defined]
                "SELECT 1 FROM accounts WHERE tenant_id = ?", (tenant,)
            ).fetchone():
                return tenant
        msg = "no free tenant id"
        raise RuntimeError(msg)

    def by_username(self, username: str) -> Account | None:
        """An account owner, or a sub-user (seen through its owner's account)."""
        row = self._db.query_one("SELECT * FROM accounts WHERE username = ?", (username,))
        if row:
            return _account(row)
        owner = self.subusers.owner_of(username)
        return self.subusers.resolve(username, self.by_username(owner)) if owner else None

    def by_storage_account(self, name: str) -> Account | None:
        row = self._db.query_one("SELECT * FROM accounts WHERE storage_account = ?", (name,))
        return _account(row) if row else None

    def by_tenant(self, tenant_id: str) -> Account | None:
        row = self._db.query_one("SELECT * FROM accounts WHERE tenant_id = ?", (tenant_id,))
        return _account(row) if row else None

    def all(self) -> list[Account]:
        return [_account(r) for r in self._db.query("SELECT * FROM accounts ORDER BY created_at")]


def _account(row: object) -> Account:
    r = dict(row)  # type: ignore[call-overload]
    return Account(
        username=r["username"],
        api_key=r["api_key"],
        password=r["password"],
        tenant_id=r["tenant_id"],
        storage_account=r["storage_account"],
        default_region=r["default_region"],
        is_admin=bool(r["is_admin"]),
    )
