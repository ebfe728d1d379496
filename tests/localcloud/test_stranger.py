"""Tenant isolation: a user of another account tries every route on alice's things.

Every Identity route (each path template the service has, so a new route cannot be
forgotten) and every Cloud Files verb on alice's account, container and object is tried
with bob's token.  Nothing may answer 2xx with alice's data, nothing may change.
"""

from __future__ import annotations

import io
import re
import tarfile
import uuid

import httpx
import pytest
from starlette.routing import Route

from cloudimages.localcloud import LocalCloud
from cloudimages.localcloud.app import Services
from tests.helpers.identity import Session

PUBLIC_IDENTITY = {"/", "/v2.0", "/v2.0/", "/v2.0/extensions", "/v2.0/tokens", "/v3", "/v3/"}


@pytest.fixture
def alices_things(cloud: LocalCloud, alice: Session) -> dict[str, str]:
    """A container with an object, an account temp-URL key and a sub-user, all alice's."""
    files = alice.endpoint("object-store", "DFW")
    container = f"{files}/private-{uuid.uuid4().hex[:8]}"
    assert httpx.put(container, headers=alice.headers).status_code == 201
    put = httpx.put(f"{container}/secret", headers=alice.headers, content=b"alice's")
    assert put.status_code == 201
    meta = {**alice.headers, "X-Account-Meta-Temp-Url-Key": "alice-key"}
    assert httpx.post(files, headers=meta).status_code == 204
    name = f"alice-helper-{uuid.uuid4().hex[:6]}"
    user = {"user": {"username": name, "OS-KSADM:password": "Helper-pass-1"}}
    created = httpx.post(f"{cloud.identity_url}/users", json=user, headers=alice.headers)
    assert created.status_code == 201
    return {"files": files, "container": container, "sub_user": created.json()["user"]["id"]}


def _identity_templates(cloud: LocalCloud) -> set[str]:
    services: Services | None = cloud.services
    assert services is not None
    app = services.router.apps[cloud.ports.identity]  # type: ignore[union-attr]
    routes = app.app.routes  # type: ignore[attr-defined]
    return {r.path for r in routes if isinstance(r, Route) and not r.path.startswith("/admin")}


def test_every_identity_route_refuses_a_stranger(
    cloud: LocalCloud, alice: Session, bob: Session, alices_things: dict[str, str]
) -> None:
    """bob sees only his own things (roles, tenants, users) and gets 403 on alice's.

    Keystone v3's routes refuse a Rackspace v2.0 token as Keystone does: 401.
    """
    alice_id = next(
        u["id"]
        for u in httpx.get(f"{cloud.identity_url}/users", headers=alice.headers).json()["users"]
        if u["username"] == "alice"
    )
    ids = {
        "uid": alices_things["sub_user"],
        "tenant": alice.tenant_id,
        "token": alice.token,
        "rid": "10000150",
        # Keystone v3's placeholders, with alice's ids where they mean something
        "user_id": alices_things["sub_user"],
        "project_id": alice.tenant_id,
        "credential_id": "not-a-credential",
    }
    tried: set[str] = set()
    for template in sorted(_identity_templates(cloud) - PUBLIC_IDENTITY):
        path = re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "unknown"), template)
        for method in ("GET", "PUT", "POST", "DELETE"):
            response = httpx.request(
                method, cloud.identity_url.removesuffix("/v2.0") + path, headers=bob.headers
            )
            refused = (200, 400, 403, 404, 405, *((401,) if path.startswith("/v3") else ()))
            assert response.status_code in refused, (method, path, response.text)
            if response.status_code == 404:
                assert "itemNotFound" in response.text, (method, path)  # a thing, not a route
            for secret in (alice.tenant_id, alices_things["sub_user"], '"alice"', alice_id):
                assert secret not in response.text, (method, path, response.text[:200])
            tried.add(template)
    assert tried == _identity_templates(cloud) - PUBLIC_IDENTITY
    by_name = httpx.get(f"{cloud.identity_url}/users?name=alice", headers=bob.headers)
    assert by_name.status_code == 403
    users = httpx.get(f"{cloud.identity_url}/users", headers=alice.headers).json()["users"]
    assert {alice_id, alices_things["sub_user"]} <= {u["id"] for u in users}
    assert httpx.get(f"{cloud.identity_url}/tenants", headers=alice.headers).status_code == 200


def _tar(name: str) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bob"))
    return out.getvalue()


def test_every_cloud_files_verb_refuses_a_stranger(
    cloud: LocalCloud, alice: Session, bob: Session, alices_things: dict[str, str]
) -> None:
    """bob's token on alice's account, container and object: 403 every time, nothing changes."""
    files, container = alices_things["files"], alices_things["container"]
    name = container.rsplit("/", 1)[1]
    mine = f"{bob.endpoint('object-store', 'DFW')}/bob-{uuid.uuid4().hex[:6]}"
    assert httpx.put(mine, headers=bob.headers).status_code == 201
    assert httpx.put(f"{mine}/o", headers=bob.headers, content=b"b").status_code == 201
    account = files.rsplit("/", 1)[1]
    attempts: list[tuple[str, str, dict[str, str], bytes]] = [
        *((m, files, {}, b"") for m in ("GET", "HEAD", "POST", "PUT", "DELETE")),
        *((m, container, {}, b"") for m in ("GET", "HEAD", "POST", "PUT", "DELETE")),
        *((m, f"{container}/secret", {}, b"") for m in ("GET", "HEAD", "POST", "DELETE")),
        ("PUT", f"{container}/secret", {}, b"bob was here"),
        ("COPY", f"{container}/secret", {"Destination": f"/{mine.rsplit('/', 1)[1]}/x"}, b""),
        ("PUT", f"{container}/x", {"X-Copy-From": f"/{mine.rsplit('/', 1)[1]}/o"}, b""),
        ("PUT", f"{mine}/stolen", {"X-Copy-From": f"/{name}/secret"} | _from(account), b""),
        ("COPY", f"{mine}/o", {"Destination": f"/{name}/x", "Destination-Account": account}, b""),
        ("GET", f"{container}/secret?multipart-manifest=get", {}, b""),
        (
            "POST",
            f"{files}?bulk-delete",
            {"Content-Type": "text/plain"},
            f"/{name}/secret".encode(),
        ),
        ("PUT", f"{files}?extract-archive=tar", {}, _tar(f"{name}/planted")),
        ("PUT", f"{container}?extract-archive=tar", {}, _tar("sub/planted")),
    ]
    for method, url, headers, body in attempts:
        response = httpx.request(method, url, headers={**bob.headers, **headers}, content=body)
        report = response.text if "bulk" in url or "extract" in url else ""
        refused = response.status_code in (401, 403) or "403 Forbidden" in report
        assert refused, (method, url, response.status_code, response.text[:200])
        assert "alice's" not in response.text
    listing = httpx.get(container, headers=alice.headers).text.split()
    assert listing == ["secret"]
    assert httpx.get(f"{container}/secret", headers=alice.headers).content == b"alice's"
    meta = httpx.head(files, headers=alice.headers).headers
    assert meta["X-Account-Meta-Temp-Url-Key"] == "alice-key"
    assert "stolen" not in httpx.get(mine, headers=bob.headers).text


def _from(account: str) -> dict[str, str]:
    return {"X-Copy-From-Account": account}
