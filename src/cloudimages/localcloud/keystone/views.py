"""Keystone v3 documents: version discovery, tokens, the service catalog, projects.

Shapes and timestamps are Keystone 30's, as measured against a real one: endpoints carry
both ``region_id`` and ``region``, timestamps have six fractional digits, and the
object-store URL is ``.../v1/AUTH_<project id>`` (Keystone's ``$(project_id)s``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .directory import Directory, Project, stable_id
from .store import AppCredential, Token

VERSION = "v3.14"
VERSION_UPDATED = "2020-04-07T00:00:00Z"
MEDIA_TYPE = "application/vnd.openstack.identity-v3+json"


@dataclass(frozen=True)
class OpenStackEndpoints:
    """Where one upstream-OpenStack region's services answer."""

    region: str
    image_url: str  # scheme://host:port, no version (as registered with Keystone)
    files_root: str  # scheme://host:port; /v1/AUTH_<project id> is appended per project


def keystone_time(ts: float | None) -> str | None:
    """Keystone's form: ``2026-11-30T08:17:34.000000Z``."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def version_doc(base_url: str) -> dict[str, Any]:
    return {
        "id": VERSION,
        "status": "stable",
        "updated": VERSION_UPDATED,
        "links": [{"rel": "self", "href": f"{base_url}/v3/"}],
        "media-types": [{"base": "application/json", "type": MEDIA_TYPE}],
    }


def versions_doc(base_url: str) -> dict[str, Any]:
    """``GET /``: v3 as Keystone lists it, plus the Rackspace v2.0 served beside it."""
    v2 = {
        "id": "v2.0",
        "status": "deprecated",
        "updated": "2014-04-17T00:00:00Z",
        "links": [{"rel": "self", "href": f"{base_url}/v2.0/"}],
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.identity-v2.0+json"}
        ],
    }
    return {"versions": {"values": [version_doc(base_url), v2]}}


class Views:
    """Renders tokens, catalogs and projects for one directory and set of regions."""

    def __init__(
        self, directory: Directory, endpoints: list[OpenStackEndpoints], base_url: str
    ) -> None:
        self.directory = directory
        self.endpoints = endpoints
        self.base_url = base_url

    def token(
        self, token: Token, *, catalog: bool = True, app_cred: AppCredential | None = None
    ) -> dict[str, Any]:
        user = self.directory.users[token.user_id]
        doc: dict[str, Any] = {
            "methods": token.methods,
            "user": {
                "domain": {"id": user.domain.id, "name": user.domain.name},
                "id": user.id,
                "name": user.name,
                "password_expires_at": None,
            },
            "audit_ids": token.audit_ids,
            "expires_at": keystone_time(token.expires_at),
            "issued_at": keystone_time(token.issued_at),
        }
        if token.system:
            doc["system"] = {"all": True}
        if token.project_id is not None:
            doc["project"] = self.project_ref(self.directory.projects[token.project_id])
            doc["is_domain"] = False
        if token.system or token.project_id is not None:
            roles = [self.directory.roles[n] for n in token.roles]
            doc["roles"] = [{"id": r.id, "name": r.name} for r in roles]
            if catalog:
                doc["catalog"] = self.catalog(token.project_id)
        if app_cred is not None:
            doc["application_credential"] = {
                "id": app_cred.id,
                "name": app_cred.name,
                "restricted": not app_cred.unrestricted,
            }
        return {"token": doc}

    @staticmethod
    def project_ref(project: Project) -> dict[str, Any]:
        domain = project.domain
        return {
            "domain": {"id": domain.id, "name": domain.name},
            "id": project.id,
            "name": project.name,
        }

    def project(self, project: Project) -> dict[str, Any]:
        return {
            "id": project.id,
            "name": project.name,
            "domain_id": project.domain.id,
            "description": "",
            "enabled": True,
            "parent_id": project.domain.id,
            "is_domain": False,
            "tags": [],
            "options": {},
            "links": {"self": f"{self.base_url}/v3/projects/{project.id}"},
        }

    def catalog(self, project_id: str | None) -> list[dict[str, Any]]:
        """identity, image and object-store (the last only for a project), per region."""
        services: list[tuple[str, str, Any]] = [
            ("identity", "keystone", lambda e: f"{self.base_url}/v3"),
            ("image", "glance", lambda e: e.image_url),
        ]
        if project_id is not None:
            services.append(
                ("object-store", "swift", lambda e: f"{e.files_root}/v1/AUTH_{project_id}")
            )
        return [
            {
                "endpoints": [
                    {
                        "id": stable_id("endpoint", kind, e.region, interface),
                        "interface": interface,
                        "region_id": e.region,
                        "url": url_of(e),
                        "region": e.region,
                    }
                    for e in self.endpoints
                    for interface in ("public", "internal", "admin")
                ],
                "id": stable_id("service", kind),
                "type": kind,
                "name": name,
            }
            for kind, name, url_of in services
        ]

    def app_cred(self, cred: AppCredential, secret: str | None = None) -> dict[str, Any]:
        roles = [self.directory.roles[n] for n in cred.roles]
        doc: dict[str, Any] = {
            "id": cred.id,
            "name": cred.name,
            "description": cred.description,
            "user_id": cred.user_id,
            "project_id": cred.project_id,
            "system": None,
            "expires_at": (keystone_time(cred.expires_at) or "Z")[:-1] or None,
            "unrestricted": cred.unrestricted or None,
            "roles": [
                {
                    "id": r.id,
                    "name": r.name,
                    "domain_id": None,
                    "description": None,
                    "options": {"immutable": True},
                }
                for r in roles
            ],
        }
        if secret is not None:
            doc["secret"] = secret
        doc["links"] = {"self": f"{self.base_url}/v3/application_credentials/{cred.id}"}
        return doc
