"""Log in to a Keystone v3 (the local cloud's or a real one) over HTTP, as a client would."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class V3Session:
    """A token and the token document (with its catalog) Keystone answered."""

    token: str
    body: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Auth-Token": self.token}

    @property
    def project_id(self) -> str:
        return str(self.body["token"]["project"]["id"])

    @property
    def user_id(self) -> str:
        return str(self.body["token"]["user"]["id"])

    def endpoint(self, service_type: str, region: str = "RegionOne") -> str:
        for service in self.body["token"]["catalog"]:
            if service["type"] != service_type:
                continue
            for endpoint in service["endpoints"]:
                if endpoint["region_id"] == region and endpoint["interface"] == "public":
                    return str(endpoint["url"])
        msg = f"no {service_type} endpoint in {region}"
        raise LookupError(msg)


def v3_login(auth_url: str, user: str, project: str, password: str | None = None) -> V3Session:
    """A project-scoped token for ``user`` of domain Default (password ``<user>-password``)."""
    ident = {"name": user, "domain": {"id": "default"}, "password": password or f"{user}-password"}
    scope = {"project": {"name": project, "domain": {"id": "default"}}}
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": ident}}}}
    body["auth"]["scope"] = scope
    response = httpx.post(f"{auth_url}/auth/tokens", json=body, timeout=30)
    response.raise_for_status()
    return V3Session(response.headers["X-Subject-Token"], response.json())
