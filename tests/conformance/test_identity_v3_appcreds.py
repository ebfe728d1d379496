"""Keystone v3 application credentials, and keystoneauth1 as a stock client of both.

Every test runs against a real Keystone 30 (``slow``) and the local cloud's Keystone v3.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import generic, v3
from openstack_fixtures import *  # noqa: F403 - registers os_target and its servers
from openstack_targets import Login, OpenStackTarget


@pytest.fixture
def user1(os_target: OpenStackTarget) -> Login:
    return os_target.login("user1", "demo1")


@pytest.fixture
def credential(os_target: OpenStackTarget, user1: Login) -> Iterator[dict[str, Any]]:
    """A fresh application credential of user1 on demo1 (all its roles), deleted afterwards."""
    doc = create(os_target, user1, {"name": f"conf-{uuid.uuid4().hex[:8]}"}).json()
    cred = doc["application_credential"]
    yield cred
    os_target.http.delete(creds_url(os_target, user1) + f"/{cred['id']}", headers=user1.headers)


def creds_url(t: OpenStackTarget, login: Login) -> str:
    return f"{t.auth_url}/users/{login.body['token']['user']['id']}/application_credentials"


def create(t: OpenStackTarget, login: Login, body: dict[str, Any]) -> Any:
    return t.http.post(
        creds_url(t, login), headers=login.headers, json={"application_credential": body}
    )


def cred_auth(**fields: Any) -> dict[str, Any]:
    method = {"methods": ["application_credential"], "application_credential": fields}
    return {"auth": {"identity": method}}


# --- keystoneauth1, unchanged --------------------------------------------------------------------


@pytest.mark.parametrize("interface", ["public", "internal", "admin"])
def test_keystoneauth_password_finds_every_endpoint(
    os_target: OpenStackTarget, interface: str
) -> None:
    """v3.Password: a token, the project, and image/object-store endpoints per region."""
    t = os_target
    auth = v3.Password(
        auth_url=t.auth_url,
        username="user1",
        password="user1-password",
        project_name="demo1",
        user_domain_name="Default",
        project_domain_name="Default",
    )
    session = ks_session.Session(auth=auth)

    image = session.get_endpoint(service_type="image", region_name="RegionTwo", interface=interface)
    store = session.get_endpoint(
        service_type="object-store", region_name="RegionOne", interface=interface
    )

    assert session.get_token()
    assert session.get_project_id() == t.projects["demo1"]
    assert image != session.get_endpoint(service_type="image", region_name="RegionOne")
    assert store.endswith(f"/v1/AUTH_{t.projects['demo1']}")


def test_keystoneauth_discovers_v3_from_the_root(os_target: OpenStackTarget) -> None:
    """generic.Password given the root URL (no /v3) finds v3 by discovery."""
    t = os_target
    auth = generic.Password(
        auth_url=t.keystone_root,
        username="user1",
        password="user1-password",
        project_name="demo1",
        user_domain_id="default",
        project_domain_id="default",
    )

    assert ks_session.Session(auth=auth).get_project_id() == t.projects["demo1"]


def test_keystoneauth_raises_unauthorized_for_a_wrong_password(os_target: OpenStackTarget) -> None:
    """A wrong password reaches the client as keystoneauth's Unauthorized."""
    auth = v3.Password(
        auth_url=os_target.auth_url,
        username="user1",
        password="wrong",
        project_name="demo1",
        user_domain_id="default",
        project_domain_id="default",
    )

    with pytest.raises(ks_exceptions.Unauthorized):
        ks_session.Session(auth=auth).get_token()


def test_keystoneauth_application_credential(
    os_target: OpenStackTarget, credential: dict[str, Any]
) -> None:
    """v3.ApplicationCredential by id, and by name with its user: the credential's project."""
    t = os_target
    by_id = v3.ApplicationCredential(
        auth_url=t.auth_url,
        application_credential_id=credential["id"],
        application_credential_secret=credential["secret"],
    )
    by_name = v3.ApplicationCredential(
        auth_url=t.auth_url,
        application_credential_name=credential["name"],
        application_credential_secret=credential["secret"],
        username="user1",
        user_domain_name="Default",
    )

    for auth in (by_id, by_name):
        session = ks_session.Session(auth=auth)
        assert session.get_project_id() == t.projects["demo1"]
        assert session.get_endpoint(service_type="image", region_name="RegionOne")


# --- the application-credential API ---------------------------------------------------------


def test_create_answers_the_secret_once(
    os_target: OpenStackTarget, user1: Login, credential: dict[str, Any]
) -> None:
    """Create shows the secret and the roles; list and show never show the secret again."""
    t = os_target

    listed = t.http.get(creds_url(t, user1), headers=user1.headers)
    shown = t.http.get(creds_url(t, user1) + f"/{credential['id']}", headers=user1.headers)

    assert credential["secret"]
    assert sorted(r["name"] for r in credential["roles"]) == ["member", "reader"]
    assert credential["project_id"] == t.projects["demo1"]
    assert shown.status_code == 200
    assert "secret" not in shown.json()["application_credential"]
    assert credential["id"] in [c["id"] for c in listed.json()["application_credentials"]]


def test_credential_token_is_restricted_to_its_roles(
    os_target: OpenStackTarget, user1: Login
) -> None:
    """A credential made with reader only yields tokens with reader only."""
    t = os_target
    cred = create(t, user1, {"name": f"conf-{uuid.uuid4().hex[:8]}", "roles": [{"name": "reader"}]})
    made = cred.json()["application_credential"]

    resp = t.auth(cred_auth(id=made["id"], secret=made["secret"]))

    assert cred.status_code == 201
    assert resp.status_code == 201
    token = resp.json()["token"]
    assert token["methods"] == ["application_credential"]
    assert [r["name"] for r in token["roles"]] == ["reader"]
    assert token["application_credential"]["id"] == made["id"]
    t.http.delete(creds_url(t, user1) + f"/{made['id']}", headers=user1.headers)


def test_credential_refusals(os_target: OpenStackTarget, credential: dict[str, Any]) -> None:
    """Wrong secret 401, unknown id 404, a requested scope 401, a name without user 400."""
    t = os_target

    wrong = t.auth(cred_auth(id=credential["id"], secret="wrong"))
    unknown = t.auth(cred_auth(id=uuid.uuid4().hex, secret="x"))
    scoped = cred_auth(id=credential["id"], secret=credential["secret"])
    scoped["auth"]["scope"] = {"project": {"id": t.projects["demo1"]}}
    with_scope = t.auth(scoped)
    nameless = t.auth(cred_auth(name=credential["name"], secret=credential["secret"]))

    assert wrong.status_code == 401
    assert unknown.status_code == 404
    assert with_scope.status_code == 401
    assert "cannot request a scope" in with_scope.json()["error"]["message"]
    assert nameless.status_code == 400
    assert "Expecting to find user in application credential" in nameless.text


def test_create_refusals(
    os_target: OpenStackTarget, user1: Login, credential: dict[str, Any]
) -> None:
    """Same name 409, a role the user lacks 400, no name 400, another user's 403."""
    t = os_target
    other = t.login("user2", "demo2")

    same = create(t, user1, {"name": credential["name"]})
    admin_role = create(t, user1, {"name": "x-admin", "roles": [{"name": "admin"}]})
    nameless = create(t, user1, {})
    for_other = t.http.post(
        creds_url(t, other), headers=user1.headers, json={"application_credential": {"name": "x"}}
    )

    assert same.status_code == 409
    assert admin_role.status_code == 400
    assert "unassigned role" in admin_role.json()["error"]["message"]
    assert nameless.status_code == 400
    assert for_other.status_code == 403


def test_credential_token_cannot_make_credentials(
    os_target: OpenStackTarget, credential: dict[str, Any]
) -> None:
    """A restricted credential's token may not create further credentials (403)."""
    t = os_target
    resp = t.auth(cred_auth(id=credential["id"], secret=credential["secret"]))
    login = Login(resp.headers["x-subject-token"], resp.json())

    made = create(t, login, {"name": "nested"})

    assert made.status_code == 403


def test_deleting_a_credential_ends_its_tokens(os_target: OpenStackTarget, user1: Login) -> None:
    """After DELETE the credential is 404 and the tokens issued with it no longer validate."""
    t = os_target
    made = create(t, user1, {"name": f"conf-{uuid.uuid4().hex[:8]}"}).json()[
        "application_credential"
    ]
    issued = t.auth(cred_auth(id=made["id"], secret=made["secret"])).headers["x-subject-token"]
    url = creds_url(t, user1) + f"/{made['id']}"

    deleted = t.http.delete(url, headers=user1.headers)
    again = t.http.delete(url, headers=user1.headers)
    check = t.http.get(
        f"{t.auth_url}/auth/tokens", headers={**user1.headers, "X-Subject-Token": issued}
    )

    assert deleted.status_code == 204
    assert again.status_code == 404
    assert check.status_code == 404
