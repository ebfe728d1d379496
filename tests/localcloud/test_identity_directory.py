"""Identity v2.0 as stock clients use it: discovery, tenants, users, roles, sub-users.

keystoneauth1 (discovery, v2 password login) and python-keystoneclient's v2.0 client (what
python-openstackclient runs for ``project list``, ``user list``, ``role list`` ... with a
v2.0 identity) talk to the local cloud over HTTP; sub-users get Cloud Files rights from
their RBAC roles only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from keystoneauth1 import discover, session
from keystoneauth1.identity import v2
from keystoneclient import exceptions as ks_exceptions
from keystoneclient.v2_0 import client as ks_client

from cloudimages.localcloud import LocalCloud
from tests.helpers.identity import Session, login

PASSWORD = "Sub-user-1-secret"


def _keystone(cloud: LocalCloud, username: str, password: str) -> ks_client.Client:
    """A python-keystoneclient v2.0 client on a keystoneauth session, as openstackclient has."""
    account = cloud.account("alice") if username != "bob" else cloud.account("bob")
    auth = v2.Password(
        auth_url=cloud.identity_url,
        username=username,
        password=password,
        tenant_name=account.tenant_id,
    )
    sess = session.Session(auth=auth)  # no identity in the catalog: --os-endpoint, as users do
    return ks_client.Client(session=sess, endpoint_override=cloud.identity_url)


@pytest.fixture
def alice_keystone(cloud: LocalCloud) -> ks_client.Client:
    return _keystone(cloud, "alice", cloud.account("alice").password)


@pytest.fixture
def sub_user(alice_keystone: ks_client.Client, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A sub-user of alice's account without any role, removed after the test."""
    name = f"alice-sub-{request.node.name[-20:].strip('_[]')}".replace("_", "-")
    user = alice_keystone.users.create(name, PASSWORD, f"{name}@example.com")
    yield user
    alice_keystone.users.delete(user.id)


def test_version_document_serves_keystoneauth_discovery(cloud: LocalCloud) -> None:
    """keystoneauth reads v2.0 from GET /v2.0 (the version document)."""
    data = discover.get_version_data(session.Session(), cloud.identity_url)
    assert [d["id"] for d in data] == ["v2.0"]
    assert data[0]["links"][0]["href"].rstrip("/").endswith("/v2.0")


def test_keystoneauth_password_login_with_tenant_name(cloud: LocalCloud) -> None:
    """A v2 Password plugin with tenant_name gets a token and the catalog's endpoints."""
    alice = cloud.account("alice")
    auth = v2.Password(
        auth_url=cloud.identity_url,
        username="alice",
        password=alice.password,
        tenant_name=alice.tenant_id,
    )
    sess = session.Session(auth=auth)
    assert sess.get_token()
    files = sess.get_endpoint(service_type="object-store", region_name="DFW")
    assert files.endswith(f"/v1/{alice.storage_account}")
    assert auth.get_access(sess).project_id == alice.tenant_id


def test_openstackclient_listings_with_a_v2_token(
    cloud: LocalCloud, alice_keystone: ks_client.Client
) -> None:
    """project list, user list, role list, user show, user role list and extension list."""
    alice = cloud.account("alice")
    tenants = {t.id for t in alice_keystone.tenants.list()}
    assert tenants == {alice.tenant_id, alice.storage_account}
    users = {u.name: u for u in alice_keystone.users.list()}
    assert "alice" in users
    assert alice_keystone.users.get(users["alice"].id).name == "alice"
    roles = {r.name for r in alice_keystone.roles.list()}
    assert {"object-store:admin", "object-store:observer"} <= roles
    held = alice_keystone.roles.roles_for_user(users["alice"].id, alice.tenant_id)
    assert [r.name for r in held] == ["identity:user-admin"]
    assert "RAX-KSKEY" in {e.alias for e in alice_keystone.extensions.list()}
    assert alice_keystone.tenants.get(alice.tenant_id).id == alice.tenant_id


def test_admin_only_routes_answer_403_not_404(cloud: LocalCloud, alice: Session) -> None:
    """Token validation, others' tenants, endpoints and services exist and are refused (403)."""
    base = cloud.identity_url
    for path in (
        f"/tokens/{alice.token}",
        f"/tenants/{cloud.account('bob').tenant_id}",
        "/endpoints",
        "/OS-KSADM/services",
    ):
        response = httpx.get(base + path, headers=alice.headers)
        assert response.status_code == 403, path
        assert response.json()["forbidden"]["code"] == 403


def test_sub_user_logs_in_to_the_owners_tenant(cloud: LocalCloud, sub_user: Any) -> None:
    """A sub-user authenticates with its password and the owner's tenant; identity:default."""
    alice = cloud.account("alice")
    body = {
        "auth": {
            "passwordCredentials": {"username": sub_user.name, "password": PASSWORD},
            "tenantName": alice.tenant_id,
        }
    }
    access = httpx.post(f"{cloud.identity_url}/tokens", json=body).json()["access"]
    assert access["token"]["tenant"]["id"] == alice.tenant_id
    assert [r["name"] for r in access["user"]["roles"]] == ["identity:default"]


def test_sub_user_rights_in_cloud_files_follow_its_roles(
    cloud: LocalCloud, alice: Session, alice_keystone: ks_client.Client, sub_user: Any
) -> None:
    """No role: only ACLs; object-store:observer: read; object-store:admin: read and write."""
    files = alice.endpoint("object-store", "DFW")
    container = f"{files}/rbac-{sub_user.id}"
    assert httpx.put(container, headers=alice.headers).status_code == 201
    token = _keystone(cloud, sub_user.name, PASSWORD).session.get_token()
    as_sub = {"X-Auth-Token": token}
    roles = {r.name: r.id for r in alice_keystone.roles.list()}

    assert httpx.get(files, headers=as_sub).status_code == 403
    assert httpx.put(f"{container}/o", headers=as_sub, content=b"x").status_code == 403
    alice_keystone.roles.add_user_role(sub_user.id, roles["object-store:observer"])
    assert httpx.get(files, headers=as_sub).status_code in (200, 204)
    assert httpx.put(f"{container}/o", headers=as_sub, content=b"x").status_code == 403
    alice_keystone.roles.add_user_role(sub_user.id, roles["object-store:admin"])
    assert httpx.put(f"{container}/o", headers=as_sub, content=b"x").status_code == 201
    alice_keystone.roles.remove_user_role(sub_user.id, roles["object-store:admin"])
    alice_keystone.roles.remove_user_role(sub_user.id, roles["object-store:observer"])
    assert httpx.delete(f"{container}/o", headers=as_sub).status_code == 403
    acl = {**alice.headers, "X-Container-Read": f"{alice.tenant_id}:{sub_user.name}"}
    assert httpx.post(container, headers=acl).status_code == 204
    assert httpx.get(f"{container}/o", headers=as_sub).content == b"x"


def test_only_the_owner_manages_sub_users(
    cloud: LocalCloud, alice_keystone: ks_client.Client, sub_user: Any
) -> None:
    """A sub-user may not create users, grant roles or delete users (403)."""
    sub = _keystone(cloud, sub_user.name, PASSWORD)
    with pytest.raises(ks_exceptions.Forbidden):
        sub.users.create("not-allowed", PASSWORD, "x@example.com")
    roles = {r.name: r.id for r in alice_keystone.roles.list()}
    with pytest.raises(ks_exceptions.Forbidden):
        sub.roles.add_user_role(sub_user.id, roles["object-store:admin"])
    owner_id = next(u.id for u in alice_keystone.users.list() if u.name == "alice")
    with pytest.raises(ks_exceptions.Forbidden):
        sub.users.delete(owner_id)
    assert [u.name for u in sub.users.list()] == [sub_user.name]


def test_usernames_are_unique_and_passwords_strong(
    alice_keystone: ks_client.Client, sub_user: Any
) -> None:
    """A taken username is 409; a weak password is 400; nothing is created either way."""
    with pytest.raises(ks_exceptions.Conflict):
        alice_keystone.users.create(sub_user.name, PASSWORD, "x@example.com")
    with pytest.raises(ks_exceptions.Conflict):
        alice_keystone.users.create("bob", PASSWORD, "x@example.com")
    with pytest.raises(ks_exceptions.BadRequest):
        alice_keystone.users.create("weak-password-user", "short", "x@example.com")
    names = {u.name for u in alice_keystone.users.list()}
    assert "weak-password-user" not in names


def test_openstacksdk_with_a_v2_token(cloud: LocalCloud) -> None:
    """openstacksdk on identity v2: tenants, users, roles, extensions, then Cloud Files."""
    import openstack

    alice = cloud.account("alice")
    conn = openstack.connect(
        auth_url=cloud.identity_url,
        username="alice",
        password=alice.password,
        project_name=alice.tenant_id,
        identity_api_version="2",
        identity_endpoint_override=cloud.identity_url,
        region_name="DFW",
        load_yaml_config=False,
        load_envvars=False,
    )
    conn.authorize()
    assert conn.current_project_id == alice.tenant_id
    assert {t.id for t in conn.identity.tenants()} == {alice.tenant_id, alice.storage_account}
    users = {u.name: u.id for u in conn.identity.users()}
    assert conn.identity.get_user(users["alice"]).name == "alice"
    assert "object-store:observer" in {r.name for r in conn.identity.roles()}
    assert "RAX-KSKEY" in {e.alias for e in conn.identity.extensions()}
    conn.object_store.create_container("sdk-v2")
    conn.object_store.upload_object("sdk-v2", "hello.txt", data=b"hello")
    assert conn.object_store.download_object("hello.txt", container="sdk-v2") == b"hello"


def test_identity_admin_validates_tokens(cloud: LocalCloud, alice: Session) -> None:
    """The admin account validates alice's token (200, her user); alice may not (403)."""
    admin = login(cloud.identity_url, "admin", "admin-api-key")
    response = httpx.get(f"{cloud.identity_url}/tokens/{alice.token}", headers=admin.headers)
    assert response.status_code == 200
    access = response.json()["access"]
    assert access["user"]["username"] == "alice"
    assert access["token"]["expires"] == alice.access["token"]["expires"]
    mine = httpx.get(f"{cloud.identity_url}/tokens/{alice.token}", headers=alice.headers)
    assert mine.status_code == 403
