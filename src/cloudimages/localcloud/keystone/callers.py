"""A Keystone token as the other services see it: an account with a project and roles.

Glance and Swift of the upstream regions reuse the local cloud's image and object
handlers, which work on ``Account``; ``ProjectCaller`` is that account for a token's
project (tenant id = project id, Swift account ``AUTH_<project id>``) plus its roles.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..accounts import Account
from .directory import Directory, Project
from .store import Token

RESELLER_PREFIX = "AUTH_"


@dataclass(frozen=True)
class ProjectCaller(Account):
    """The caller behind a Keystone token (``is_admin``: holds the admin role)."""

    user_id: str = ""
    roles: tuple[str, ...] = ()

    def has(self, role: str) -> bool:
        return role in self.roles


def caller_for(token: Token, directory: Directory, region: str) -> ProjectCaller:
    user = directory.users[token.user_id]
    project = token.project_id or ""
    return ProjectCaller(
        username=user.name,
        api_key="",
        password="",
        tenant_id=project,
        storage_account=f"{RESELLER_PREFIX}{project}" if project else "",
        default_region=region,
        is_admin="admin" in token.roles,
        user_id=user.id,
        roles=tuple(token.roles),
    )


def project_account(project: Project, region: str) -> Account:
    """The Swift account of a project, as a (role-less) account record."""
    return Account(
        username=project.name,
        api_key="",
        password="",
        tenant_id=project.id,
        storage_account=f"{RESELLER_PREFIX}{project.id}",
        default_region=region,
        is_admin=False,
    )
