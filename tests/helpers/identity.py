"""Authenticate against an Identity v2.0 service over HTTP, as a client would."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Session:
    """A token and the catalog endpoints that came with it."""

    token: str
    tenant_id: str
    access: dict[str, Any]

    def endpoint(self, service_type: str, region: str) -> str:
        for service in self.access["serviceCatalog"]:
            if service["type"] != service_type:
                continue
            for endpoint in service["endpoints"]:
                if endpoint["region"].upper() == region.upper():
                    return str(endpoint["publicURL"])
        msg = f"no {service_type} endpoint in {region}"
        raise LookupError(msg)

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Auth-Token": self.token}


def api_key_body(username: str, api_key: str) -> dict[str, Any]:
    return {"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": username, "apiKey": api_key}}}


def login(identity_url: str, username: str, api_key: str) -> Session:
    response = httpx.post(f"{identity_url}/tokens", json=api_key_body(username, api_key))
    response.raise_for_status()
    access = response.json()["access"]
    return Session(access["token"]["id"], access["token"]["tenant"]["id"], access)
