"""An upstream OpenStack (Keystone v3 + Glance + Swift) seen through one small interface.

The identity and upstream-images suites run each test against the real mini OpenStack
(realopenstack.py, marked ``slow``) and against the local cloud's Keystone v3 and
upstream regions. Both hold the same directory (realopenstack_setup.DIRECTORY): the
same users, passwords, projects and roles; only the ids differ, so tests look them up.
Both have RegionOne (Glance's defaults) and RegionTwo (strict: raw and qcow2 only,
glance-direct only, 4 MiB per project).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

JSON = {"Accept": "application/json"}
OCTET = "application/octet-stream"
WAIT_SECONDS = 30.0


def fresh_client() -> httpx.Client:
    """No keep-alive: gunicorn closes a connection after refusing an unread upload body,
    and a pooled connection would then fail the next request (RemoteProtocolError)."""
    return httpx.Client(timeout=30, limits=httpx.Limits(max_keepalive_connections=0))


@dataclass(frozen=True)
class Login:
    """A token and the document Keystone answered with."""

    token: str
    body: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Auth-Token": self.token, **JSON}

    @property
    def project_id(self) -> str:
        return str(self.body["token"]["project"]["id"])

    def endpoint(self, kind: str, region: str = "RegionOne", interface: str = "public") -> str:
        for service in self.body["token"]["catalog"]:
            if service["type"] == kind:
                for e in service["endpoints"]:
                    if e["region_id"] == region and e["interface"] == interface:
                        return str(e["url"])
        raise LookupError(f"no {interface} {kind} endpoint in {region}")


@dataclass
class OpenStackTarget:
    """One upstream OpenStack; ``name`` is ``real`` or ``local``."""

    name: str
    keystone_root: str  # scheme://host:port, without /v3
    domains: dict[str, str]
    projects: dict[str, str]
    users: dict[str, str]
    serve_dir: Path  # files here are reachable by web-download at file_url(name)
    file_url: Callable[[str], str]
    http: httpx.Client = field(default_factory=fresh_client)
    _images: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    @property
    def auth_url(self) -> str:
        return f"{self.keystone_root}/v3"

    def view(self) -> OpenStackTarget:
        return OpenStackTarget(
            self.name,
            self.keystone_root,
            self.domains,
            self.projects,
            self.users,
            self.serve_dir,
            self.file_url,
        )

    # identity --------------------------------------------------------------------------
    def auth(self, body: Any, **kwargs: Any) -> httpx.Response:
        return self.http.post(f"{self.auth_url}/auth/tokens", json=body, **kwargs)

    def login(self, user: str, project: str | None = None, domain: str = "Default") -> Login:
        scope = None
        if project is not None:
            scope = {"project": {"name": project, "domain": {"name": domain}}}
        resp = self.auth(password_body(user, f"{user}-password", scope, {"name": domain}))
        assert resp.status_code == 201, resp.text
        return Login(resp.headers["X-Subject-Token"], resp.json())

    # images ------------------------------------------------------------------------------
    def glance(self, login: Login, region: str = "RegionOne") -> str:
        return login.endpoint("image", region)

    def create_image(self, login: Login, region: str = "RegionOne", **props: Any) -> str:
        """A queued image (raw/bare unless ``props`` say otherwise), deleted afterwards."""
        body = {"name": "conformance", "disk_format": "raw", "container_format": "bare", **props}
        url = self.glance(login, region)
        resp = self.http.post(f"{url}/v2/images", headers=login.headers, json=body)
        assert resp.status_code == 201, resp.text
        image_id = str(resp.json()["id"])
        self._images.append((url, image_id, login.headers))
        return image_id

    def image(self, login: Login, image_id: str, region: str = "RegionOne") -> dict[str, Any]:
        url = self.glance(login, region)
        resp = self.http.get(f"{url}/v2/images/{image_id}", headers=login.headers)
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    def put_data(
        self,
        login: Login,
        image_id: str,
        data: bytes,
        where: str = "file",
        region: str = "RegionOne",
    ) -> httpx.Response:
        """``PUT /file`` (upload) or ``PUT /stage`` with ``data``."""
        headers = {**login.headers, "Content-Type": OCTET}
        url = f"{self.glance(login, region)}/v2/images/{image_id}/{where}"
        return self.http.put(url, headers=headers, content=data)

    def start_import(
        self, login: Login, image_id: str, method: dict[str, Any], region: str = "RegionOne"
    ) -> httpx.Response:
        url = f"{self.glance(login, region)}/v2/images/{image_id}/import"
        return self.http.post(url, headers=login.headers, json={"method": method})

    def wait_image(
        self,
        login: Login,
        image_id: str,
        done: Callable[[dict[str, Any]], bool],
        region: str = "RegionOne",
    ) -> dict[str, Any]:
        """Poll until ``done(image)`` and every import task of the image has finished."""
        url = self.glance(login, region)
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            doc = self.image(login, image_id, region)
            tasks = self.http.get(f"{url}/v2/images/{image_id}/tasks", headers=login.headers)
            running = [t for t in tasks.json()["tasks"] if t["status"] in ("pending", "processing")]
            if done(doc) and not running:
                return doc
            assert time.monotonic() < deadline, f"gave up waiting: {doc}"
            time.sleep(0.1)

    def cleanup(self) -> None:
        for url, image_id, headers in reversed(self._images):
            self.http.delete(f"{url}/v2/images/{image_id}", headers=headers)
        self._images.clear()
        self.http.close()


def password_body(
    user: str, password: str, scope: dict[str, Any] | None, domain: dict[str, str] | None
) -> dict[str, Any]:
    """``POST /v3/auth/tokens`` with the password method (user by name in ``domain``)."""
    ident: dict[str, Any] = {"name": user, "password": password}
    if domain is not None:
        ident["domain"] = domain
    auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {"user": ident}}}
    if scope is not None:
        auth["scope"] = scope
    return {"auth": auth}
