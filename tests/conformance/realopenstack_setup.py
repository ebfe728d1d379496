"""Fill a freshly bootstrapped Keystone 30 over its API: projects, users, roles, catalog.

The directory is the one the local cloud's Keystone v3 seeds (see DIRECTORY), so a test can
log in with the same names and passwords on both; only the ids differ (Keystone's are
random).  Creating projects, users and endpoints needs a *system*-scoped admin token under
Keystone's secure-RBAC defaults; a project-scoped admin token gets 403 there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from realopenstack_conf import SERVICE_PASSWORD

ADMIN_PASSWORD = "admin-password"


@dataclass(frozen=True)
class UserSpec:
    """A user, its password, and the role it holds on one project of its domain."""

    name: str
    project: str
    role: str = "member"
    domain: str = "Default"

    @property
    def password(self) -> str:
        return f"{self.name}-password"


# Same names, passwords and roles as cloudimages.localcloud.keystone's seed.
DIRECTORY = (
    UserSpec("user1", "demo1"),
    UserSpec("user2", "demo2"),
    UserSpec("user3", "demo3"),
    UserSpec("reader1", "demo1", role="reader"),  # may read images, not upload them
    UserSpec("otheruser", "other1", domain="Other"),
)


@dataclass
class Directory:
    """What the setup made: ids by name (projects/users by ``name`` in Default)."""

    domains: dict[str, str] = field(default_factory=dict)
    projects: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)


class KeystoneAdmin:
    """Thin HTTP helper holding a system-scoped admin token."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        body = password_auth("admin", ADMIN_PASSWORD, {"system": {"all": True}})
        resp = http.post("/v3/auth/tokens", json=body)
        resp.raise_for_status()
        http.headers["X-Auth-Token"] = resp.headers["X-Subject-Token"]

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        resp = self.http.request(method, path, json=body)
        if resp.status_code >= 400:
            raise RuntimeError(f"{method} {path} -> {resp.status_code}: {resp.text[:400]}")
        return resp.json() if resp.content else None

    def create(self, collection: str, singular: str, **attrs: Any) -> str:
        return str(self.call("POST", f"/v3/{collection}", {singular: attrs})[singular]["id"])


def password_auth(
    user: str, password: str, scope: dict[str, Any] | None, domain: str = "default"
) -> dict[str, Any]:
    """A ``POST /v3/auth/tokens`` body for password auth (user in domain id ``domain``)."""
    ident = {"user": {"name": user, "domain": {"id": domain}, "password": password}}
    auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": ident}}
    if scope is not None:
        auth["scope"] = scope
    return {"auth": auth}


def fill(keystone_url: str, endpoints: dict[str, dict[str, str]]) -> Directory:
    """Create the directory and the catalog; ``endpoints`` is region -> service type -> URL."""
    with httpx.Client(base_url=keystone_url, timeout=30) as http:
        admin = KeystoneAdmin(http)
        found = Directory(domains={"Default": "default"})
        found.roles = {r["name"]: r["id"] for r in admin.call("GET", "/v3/roles")["roles"]}
        found.projects["admin"] = admin.call("GET", "/v3/projects?name=admin")["projects"][0]["id"]
        found.users["admin"] = admin.call("GET", "/v3/users?name=admin")["users"][0]["id"]
        found.domains["Other"] = admin.create("domains", "domain", name="Other")
        _service_users(admin, found)
        for spec in DIRECTORY:
            _user(admin, found, spec)
        _catalog(admin, endpoints)
    return found


def _project(admin: KeystoneAdmin, found: Directory, name: str, domain: str) -> str:
    if name not in found.projects:
        domain_id = found.domains[domain]
        found.projects[name] = admin.create("projects", "project", name=name, domain_id=domain_id)
    return found.projects[name]


def _user(admin: KeystoneAdmin, found: Directory, spec: UserSpec) -> None:
    project = _project(admin, found, spec.project, spec.domain)
    user = admin.create(
        "users",
        "user",
        name=spec.name,
        password=spec.password,
        domain_id=found.domains[spec.domain],
        default_project_id=project,
    )
    found.users[spec.name] = user
    admin.call("PUT", f"/v3/projects/{project}/users/{user}/roles/{found.roles[spec.role]}")


def _service_users(admin: KeystoneAdmin, found: Directory) -> None:
    """glance and swift validate tokens: the ``service`` role on project service suffices."""
    project = _project(admin, found, "service", "Default")
    for name in ("glance", "swift"):
        user = admin.create(
            "users", "user", name=name, password=SERVICE_PASSWORD, domain_id="default"
        )
        admin.call("PUT", f"/v3/projects/{project}/users/{user}/roles/{found.roles['service']}")


def _catalog(admin: KeystoneAdmin, endpoints: dict[str, dict[str, str]]) -> None:
    """image and object-store services; bootstrap made identity in RegionOne already."""
    services = {
        kind: admin.create("services", "service", type=kind, name=name)
        for kind, name in (("image", "glance"), ("object-store", "swift"))
    }
    identity = admin.call("GET", "/v3/services?type=identity")["services"][0]["id"]
    identity_url = admin.http.base_url.join("/v3")
    for region, urls in endpoints.items():
        wanted = dict(urls)
        if region != "RegionOne":  # bootstrap made RegionOne with its identity endpoints
            admin.create("regions", "region", id=region)
            wanted["identity"] = str(identity_url)
        for kind, url in wanted.items():
            service = identity if kind == "identity" else services[kind]
            for interface in ("public", "internal", "admin"):
                admin.create(
                    "endpoints",
                    "endpoint",
                    service_id=service,
                    interface=interface,
                    region_id=region,
                    url=url,
                )
