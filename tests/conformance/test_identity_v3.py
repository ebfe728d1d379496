"""Keystone v3: discovery, password and application-credential tokens, scopes, errors.

Every test runs against a real Keystone 30 (``slow``) and the local cloud's Keystone v3,
with the same users, passwords and projects on both (realopenstack_setup.DIRECTORY).
"""

from __future__ import annotations

import re

import pytest
from openstack_fixtures import *  # noqa: F403 - registers os_target and its servers
from openstack_targets import OpenStackTarget, password_body

KEYSTONE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
DEMO1 = {"project": {"name": "demo1", "domain": {"id": "default"}}}


def assert_unauthorized(target: OpenStackTarget, resp: object) -> None:
    """Keystone's 401: its error document and a challenge naming the v3 endpoint."""
    assert resp.status_code == 401  # type: ignore[attr-defined]
    error = resp.json()["error"]  # type: ignore[attr-defined]
    assert (error["code"], error["title"]) == (401, "Unauthorized")
    challenge = resp.headers["www-authenticate"]  # type: ignore[attr-defined]
    assert challenge == f'Keystone uri="{target.auth_url}"'


def assert_bad_request(resp: object, says: str) -> None:
    assert resp.status_code == 400  # type: ignore[attr-defined]
    error = resp.json()["error"]  # type: ignore[attr-defined]
    assert (error["code"], error["title"]) == (400, "Bad Request")
    assert says in error["message"]


# --- discovery -------------------------------------------------------------------------------


def test_root_lists_v3_with_300(os_target: OpenStackTarget) -> None:
    """``GET /`` answers 300 Multiple Choices listing v3.14 as stable."""
    t = os_target

    resp = t.http.get(f"{t.keystone_root}/")

    assert resp.status_code == 300
    (v3_doc,) = [v for v in resp.json()["versions"]["values"] if v["id"].startswith("v3")]
    assert (v3_doc["id"], v3_doc["status"]) == ("v3.14", "stable")
    assert v3_doc["links"] == [{"rel": "self", "href": f"{t.auth_url}/"}]


@pytest.mark.parametrize("path", ["/v3", "/v3/"])
def test_v3_version_document(os_target: OpenStackTarget, path: str) -> None:
    """``GET /v3`` describes the version and its media type."""
    t = os_target

    resp = t.http.get(f"{t.keystone_root}{path}")

    assert resp.status_code == 200
    version = resp.json()["version"]
    assert version["id"] == "v3.14"
    assert version["media-types"][0]["type"] == "application/vnd.openstack.identity-v3+json"


# --- password tokens -------------------------------------------------------------------------


def test_password_token_scoped_to_a_project(os_target: OpenStackTarget) -> None:
    """201, the token in X-Subject-Token, user, project, implied roles and times."""
    t = os_target

    resp = t.auth(password_body("user1", "user1-password", DEMO1, {"id": "default"}))

    assert resp.status_code == 201
    assert resp.headers["x-subject-token"]
    token = resp.json()["token"]
    assert token["methods"] == ["password"]
    assert token["user"] == {
        "domain": {"id": "default", "name": "Default"},
        "id": t.users["user1"],
        "name": "user1",
        "password_expires_at": None,
    }
    assert token["project"]["id"] == t.projects["demo1"]
    assert token["project"]["domain"] == {"id": "default", "name": "Default"}
    assert sorted(r["name"] for r in token["roles"]) == ["member", "reader"]
    assert KEYSTONE_TIME.match(token["expires_at"])
    assert KEYSTONE_TIME.match(token["issued_at"])
    assert token["is_domain"] is False


def test_catalog_has_identity_image_and_object_store(os_target: OpenStackTarget) -> None:
    """Each service has public, internal and admin endpoints per region; Swift is AUTH_<project>."""
    login = os_target.login("user1", "demo1")

    catalog = {s["type"]: s for s in login.body["token"]["catalog"]}

    assert {"identity", "image", "object-store"} <= set(catalog)
    for service in catalog.values():
        seen = {(e["region_id"], e["interface"]) for e in service["endpoints"]}
        for region in ("RegionOne", "RegionTwo"):
            assert {(region, i) for i in ("public", "internal", "admin")} <= seen
        assert all(e["region"] == e["region_id"] for e in service["endpoints"])
    storage = login.endpoint("object-store")
    assert storage.endswith(f"/v1/AUTH_{os_target.projects['demo1']}")
    assert login.endpoint("identity") == os_target.auth_url


def body_naming(t: OpenStackTarget, way: str) -> dict[str, object]:
    """user1 into demo1, the user and project named the way ``way`` says."""
    user: dict[str, object] = {"name": "user1", "domain": {"id": "default"}}
    scope: dict[str, object] | None = DEMO1
    if way == "user-id":
        user = {"id": t.users["user1"]}
    elif way == "domain-name":
        user = {"name": "user1", "domain": {"name": "Default"}}
    elif way == "project-id":
        scope = {"project": {"id": t.projects["demo1"]}}
    elif way == "default-project":
        scope = None
    password = {"user": {**user, "password": "user1-password"}}
    auth: dict[str, object] = {"identity": {"methods": ["password"], "password": password}}
    if scope is not None:
        auth["scope"] = scope
    return {"auth": auth}


@pytest.mark.parametrize("way", ["user-id", "domain-name", "project-id", "default-project"])
def test_other_ways_to_name_user_and_project(os_target: OpenStackTarget, way: str) -> None:
    """A user by id or by name in a domain by id or name; a project by id, or the default one."""
    t = os_target

    resp = t.auth(body_naming(t, way))

    assert resp.status_code == 201, resp.text
    assert resp.json()["token"]["project"]["id"] == t.projects["demo1"]


def test_reader_token_holds_reader_only(os_target: OpenStackTarget) -> None:
    """reader1's token on demo1 carries the reader role and nothing more."""
    login = os_target.login("reader1", "demo1")

    assert [r["name"] for r in login.body["token"]["roles"]] == ["reader"]


def test_user_of_another_domain(os_target: OpenStackTarget) -> None:
    """otheruser logs in to other1 of domain Other, named with that domain only."""
    login = os_target.login("otheruser", "other1", domain="Other")

    assert login.body["token"]["user"]["domain"]["name"] == "Other"
    assert login.project_id == os_target.projects["other1"]


@pytest.mark.parametrize(
    "body",
    [
        password_body("user1", "wrong", DEMO1, {"id": "default"}),
        password_body("nobody", "user1-password", DEMO1, {"id": "default"}),
        password_body("user1", "user1-password", DEMO1, {"name": "Other"}),
        password_body("user1", "user1-password", DEMO1, {"name": "Nowhere"}),
        password_body("user1", "user1-password", DEMO1, {"id": "nowhere"}),
        password_body(
            "user1",
            "user1-password",
            {"project": {"name": "demo1", "domain": {"name": "Other"}}},
            {"id": "default"},
        ),
        password_body(
            "user1",
            "user1-password",
            {"project": {"name": "nope", "domain": {"id": "default"}}},
            {"id": "default"},
        ),
        password_body(
            "user1",
            "user1-password",
            {"project": {"name": "demo2", "domain": {"id": "default"}}},
            {"id": "default"},
        ),
        password_body("user1", "user1-password", {"project": {"id": "nope"}}, {"id": "default"}),
        password_body("user1", "user1-password", {"domain": {"id": "default"}}, {"id": "default"}),
        password_body("user1", "user1-password", {"system": {"all": True}}, {"id": "default"}),
        password_body("otheruser", "otheruser-password", None, {"id": "default"}),
    ],
    ids=[
        "wrong-password",
        "unknown-user",
        "user-in-wrong-domain",
        "unknown-domain-name",
        "unknown-domain-id",
        "project-in-wrong-domain",
        "unknown-project",
        "project-without-role",
        "unknown-project-id",
        "domain-scope-without-role",
        "system-scope-for-member",
        "user-of-another-domain-in-default",
    ],
)
def test_failed_authentication_is_401_without_detail(
    os_target: OpenStackTarget, body: dict[str, object]
) -> None:
    """Whatever is wrong with who or where, Keystone says only 401 and names itself."""
    resp = os_target.auth(body)

    assert_unauthorized(os_target, resp)
    assert resp.json()["error"]["message"] == "The request you have made requires authentication."


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "Expecting to find auth in request body"),
        (b"{", "Expecting to find valid JSON in request body"),
        (b"{}", "Expecting to find auth in request body"),
        (
            b'{"auth": {"identity": {"methods": ["password"]}}}',
            "Expecting to find password in identity",
        ),
        (
            b'{"auth": {"identity": {"methods": ["password"], "password": {"user": '
            b'{"name": "user1", "password": "user1-password"}}}}}',
            "Expecting to find domain in user",
        ),
        (
            b'{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name":'
            b' "user1", "domain": {"id": "default"}, "password": "user1-password"}}}, "scope":'
            b' {"project": {"name": "demo1"}}}}',
            "Expecting to find domain in project",
        ),
    ],
    ids=[
        "empty",
        "bad-json",
        "no-auth",
        "method-without-body",
        "user-without-domain",
        "project-without-domain",
    ],
)
def test_malformed_auth_bodies_are_400(
    os_target: OpenStackTarget, content: bytes, says: str
) -> None:
    """A body Keystone cannot read is a 400 saying what it expected."""
    headers = {"Content-Type": "application/json"}

    resp = os_target.http.post(
        f"{os_target.auth_url}/auth/tokens", content=content, headers=headers
    )

    assert_bad_request(resp, says)


def test_non_json_content_type_is_400(os_target: OpenStackTarget) -> None:
    """Keystone reads JSON bodies only."""
    t = os_target
    body = b'{"auth": {}}'

    resp = t.http.post(
        f"{t.auth_url}/auth/tokens", content=body, headers={"Content-Type": "text/plain"}
    )

    assert_bad_request(resp, "Expecting to find application/json in Content-Type header")


# --- validation and revocation ------------------------------------------------------------------


def test_validate_own_token(os_target: OpenStackTarget) -> None:
    """A user validates its own token; ``nocatalog`` leaves the catalog out."""
    t = os_target
    login = t.login("user1", "demo1")
    headers = {**login.headers, "X-Subject-Token": login.token}

    full = t.http.get(f"{t.auth_url}/auth/tokens", headers=headers)
    bare = t.http.get(f"{t.auth_url}/auth/tokens?nocatalog", headers=headers)
    head = t.http.head(f"{t.auth_url}/auth/tokens", headers=headers)

    assert (full.status_code, bare.status_code, head.status_code) == (200, 200, 200)
    assert full.headers["x-subject-token"] == login.token
    assert full.json()["token"]["project"]["id"] == t.projects["demo1"]
    assert "catalog" in full.json()["token"]
    assert "catalog" not in bare.json()["token"]


def test_validate_refusals(os_target: OpenStackTarget) -> None:
    """Another user's token 403; an unknown one 404; no or a bogus caller token 401."""
    t = os_target
    mine, theirs = t.login("user1", "demo1"), t.login("user2", "demo2")
    url = f"{t.auth_url}/auth/tokens"

    other = t.http.get(url, headers={**mine.headers, "X-Subject-Token": theirs.token})
    unknown = t.http.get(url, headers={**mine.headers, "X-Subject-Token": "gAAAAAbogus"})
    nobody = t.http.get(url, headers={"X-Subject-Token": theirs.token})
    bogus = t.http.get(url, headers={"X-Auth-Token": "bogus", "X-Subject-Token": theirs.token})

    assert other.status_code == 403
    assert other.json()["error"]["title"] == "Forbidden"
    assert unknown.status_code == 404
    assert_unauthorized(t, nobody)
    assert_unauthorized(t, bogus)


def test_revoked_token_is_gone(os_target: OpenStackTarget) -> None:
    """DELETE revokes: the token no longer validates (404) nor authenticates (401)."""
    t = os_target
    caller, victim = t.login("user1", "demo1"), t.login("user1", "demo1")
    url = f"{t.auth_url}/auth/tokens"
    headers = {**caller.headers, "X-Subject-Token": victim.token}

    revoked = t.http.delete(url, headers=headers)
    after = t.http.get(url, headers=headers)
    used = t.http.get(f"{t.auth_url}/auth/projects", headers=victim.headers)

    assert revoked.status_code == 204
    assert after.status_code == 404
    assert_unauthorized(t, used)


def test_auth_projects_lists_where_the_user_has_roles(os_target: OpenStackTarget) -> None:
    """``/v3/auth/projects`` lists the projects the caller may scope to."""
    t = os_target
    login = t.login("user1", "demo1")

    resp = t.http.get(f"{t.auth_url}/auth/projects", headers=login.headers)

    assert resp.status_code == 200
    assert [(p["id"], p["name"]) for p in resp.json()["projects"]] == [
        (t.projects["demo1"], "demo1")
    ]


def test_token_method_rescopes(os_target: OpenStackTarget) -> None:
    """An existing token buys a new one (methods token + password)."""
    t = os_target
    login = t.login("user1", "demo1")
    body = {
        "auth": {"identity": {"methods": ["token"], "token": {"id": login.token}}, "scope": DEMO1}
    }

    resp = t.auth(body)

    assert resp.status_code == 201
    assert sorted(resp.json()["token"]["methods"]) == ["password", "token"]
    assert resp.headers["x-subject-token"] != login.token
