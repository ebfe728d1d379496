"""Who exists in the local Keystone: domains, projects, users, roles and role assignments.

The directory is declared, not managed over the API: it is built at start from the seed
below plus ``LocalCloudSettings.openstack_users``. Ids are derived from names, so every
fresh data dir has the same ids (scripts and docs can rely on them), and they look like
Keystone's (32 hex digits). The seed matches the real-OpenStack test harness
(tests/conformance/realopenstack_setup.py): same names, passwords and roles.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from ..settings import OpenStackUserSpec

_NAMESPACE = uuid.UUID("9d6f0a52-6a4e-4b43-8d0c-7c1f0c3b6e21")
DEFAULT_DOMAIN_ID = "default"  # Keystone's bootstrap names its domain so
# Keystone's default roles and what they imply (admin -> manager -> member -> reader)
ROLE_IMPLIES = {"admin": "manager", "manager": "member", "member": "reader"}
ROLE_NAMES = ("admin", "manager", "member", "reader", "service")

SEED_USERS = (
    OpenStackUserSpec(name="admin", password="admin-password", project="admin", role="admin"),
    OpenStackUserSpec(name="user1", password="user1-password", project="demo1"),
    OpenStackUserSpec(name="user2", password="user2-password", project="demo2"),
    OpenStackUserSpec(name="user3", password="user3-password", project="demo3"),
    OpenStackUserSpec(name="reader1", password="reader1-password", project="demo1", role="reader"),
    OpenStackUserSpec(
        name="otheruser", password="otheruser-password", project="other1", domain="Other"
    ),
)


def stable_id(kind: str, *names: str) -> str:
    """A Keystone-looking id (32 hex) that depends only on the names."""
    return uuid.uuid5(_NAMESPACE, ":".join((kind, *names))).hex


@dataclass(frozen=True)
class Domain:
    id: str
    name: str


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    domain: Domain


@dataclass(frozen=True)
class Role:
    id: str
    name: str


@dataclass(frozen=True)
class User:
    id: str
    name: str
    password: str
    domain: Domain
    default_project_id: str


def effective_roles(name: str) -> list[str]:
    """A role and every role it implies, strongest first."""
    out = [name]
    while out[-1] in ROLE_IMPLIES:
        out.append(ROLE_IMPLIES[out[-1]])
    return out


@dataclass
class Directory:
    """The whole directory, read-only once built."""

    domains: dict[str, Domain] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    grants: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (user, project)
    system_admins: set[str] = field(default_factory=set)

    @classmethod
    def build(cls, extra: list[OpenStackUserSpec]) -> Directory:
        found = cls()
        found.roles = {n: Role(stable_id("role", n), n) for n in ROLE_NAMES}
        found.domains[DEFAULT_DOMAIN_ID] = Domain(DEFAULT_DOMAIN_ID, "Default")
        for spec in (*SEED_USERS, *extra):
            found.add(spec)
        return found

    def add(self, spec: OpenStackUserSpec) -> None:
        domain = self.domain_by_name(spec.domain) or self._new_domain(spec.domain)
        project = self.project_by_name(spec.project, domain.id)
        if project is None:
            project = Project(stable_id("project", domain.id, spec.project), spec.project, domain)
            self.projects[project.id] = project
        user = self.user_by_name(spec.name, domain.id)
        if user is None:
            user_id = stable_id("user", domain.id, spec.name)
            user = User(user_id, spec.name, spec.password, domain, project.id)
        else:  # a later spec may change the password or add a project
            user = User(user.id, user.name, spec.password, domain, user.default_project_id)
        self.users[user.id] = user
        self.grants[(user.id, project.id)] = effective_roles(spec.role)
        if spec.role == "admin":
            self.system_admins.add(user.id)

    def _new_domain(self, name: str) -> Domain:
        domain = Domain(stable_id("domain", name), name)
        self.domains[domain.id] = domain
        return domain

    # lookups -------------------------------------------------------------------------
    def domain_by_name(self, name: str) -> Domain | None:
        return next((d for d in self.domains.values() if d.name == name), None)

    def project_by_name(self, name: str, domain_id: str) -> Project | None:
        return next(
            (p for p in self.projects.values() if p.name == name and p.domain.id == domain_id),
            None,
        )

    def user_by_name(self, name: str, domain_id: str) -> User | None:
        return next(
            (u for u in self.users.values() if u.name == name and u.domain.id == domain_id), None
        )

    def roles_on(self, user_id: str, project_id: str) -> list[Role]:
        return [self.roles[n] for n in self.grants.get((user_id, project_id), [])]

    def projects_of(self, user_id: str) -> list[Project]:
        return [self.projects[p] for (u, p) in self.grants if u == user_id]
