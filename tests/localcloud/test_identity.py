"""Identity v2.0 of the local cloud: tokens, catalog, errors, expiry."""

from __future__ import annotations

import time

import httpx
import pytest

from cloudimages.localcloud import AccountSpec, LocalCloud, LocalCloudSettings
from tests.helpers.identity import api_key_body, login


def test_api_key_login_returns_rackspace_access_document(cloud: LocalCloud) -> None:
    """An API-key login answers 200 with token, user and a two-service catalog per region."""
    response = httpx.post(
        f"{cloud.identity_url}/tokens", json=api_key_body("alice", "alice-api-key")
    )
    assert response.status_code == 200
    access = response.json()["access"]
    token = access["token"]
    alice = cloud.account("alice")
    assert token["tenant"] == {"id": alice.tenant_id, "name": alice.tenant_id}
    assert token["expires"].endswith("Z")
    assert token["RAX-AUTH:authenticatedBy"] == ["APIKEY"]
    assert access["user"]["name"] == "alice"
    assert access["user"]["RAX-AUTH:defaultRegion"] == "DFW"
    by_type = {s["type"]: s for s in access["serviceCatalog"]}
    assert by_type["image"]["name"] == "cloudImages"
    assert by_type["object-store"]["name"] == "cloudFiles"
    regions = {e["region"] for e in by_type["image"]["endpoints"]}
    assert regions == {"DFW", "IAD", "ORD"}
    for endpoint in by_type["image"]["endpoints"]:
        assert endpoint["publicURL"].endswith("/v2")
        assert alice.tenant_id not in endpoint["publicURL"]
    for endpoint in by_type["object-store"]["endpoints"]:
        assert endpoint["tenantId"].startswith("MossoCloudFS_")
        assert endpoint["publicURL"].endswith(f"/v1/{endpoint['tenantId']}")
        assert endpoint["internalURL"]


def test_each_region_has_its_own_endpoints(cloud: LocalCloud) -> None:
    """Every region answers on its own ports, so regions never share storage."""
    session = login(cloud.identity_url, "alice", "alice-api-key")
    urls = {session.endpoint("object-store", r) for r in ("DFW", "IAD", "ORD")}
    assert len(urls) == 3


def test_password_login_works_and_says_so(cloud: LocalCloud) -> None:
    """passwordCredentials are accepted (the password defaults to the API key)."""
    body = {"auth": {"passwordCredentials": {"username": "bob", "password": "bob-api-key"}}}
    response = httpx.post(f"{cloud.identity_url}/tokens", json=body)
    assert response.status_code == 200
    assert response.json()["access"]["token"]["RAX-AUTH:authenticatedBy"] == ["PASSWORD"]


@pytest.mark.parametrize(
    ("username", "key"), [("alice", "wrong"), ("nobody", "alice-api-key"), ("alice", "")]
)
def test_bad_credentials_get_401_with_the_unauthorized_fault(
    cloud: LocalCloud, username: str, key: str
) -> None:
    """Wrong key, unknown user or empty key: 401 and Rackspace's fault body."""
    response = httpx.post(f"{cloud.identity_url}/tokens", json=api_key_body(username, key))
    assert response.status_code == 401
    assert response.json() == {
        "unauthorized": {
            "code": 401,
            "message": "Unable to authenticate user with credentials provided.",
        }
    }


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"auth": 3}',
        b'{"auth": {}}',
        b'{"auth": {"RAX-KSKEY:apiKeyCredentials": {"apiKey": "x"}}}',
        b'{"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "alice"}}}',
        b'{"auth": {"RAX-KSKEY:apiKeyCredentials": "alice"}}',
        b'{"auth": {"tenantId": "1", "tenantName": "1",'
        b' "RAX-KSKEY:apiKeyCredentials": {"username": "alice", "apiKey": "alice-api-key"}}}',
        "\udcff".encode("utf-8", "surrogatepass"),
    ],
)
def test_malformed_auth_bodies_get_400_bad_request(cloud: LocalCloud, body: bytes) -> None:
    """Malformed JSON or missing fields are 400 badRequest, never a 500."""
    response = httpx.post(
        f"{cloud.identity_url}/tokens",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["badRequest"]["code"] == 400


def test_tenant_must_match_the_account(cloud: LocalCloud) -> None:
    """Scoping a login to another tenant is refused."""
    body = api_key_body("alice", "alice-api-key")
    body["auth"]["tenantId"] = cloud.account("bob").tenant_id
    response = httpx.post(f"{cloud.identity_url}/tokens", json=body)
    assert response.status_code == 401


def test_revoked_token_is_refused_by_services(cloud: LocalCloud) -> None:
    """DELETE /v2.0/tokens/{id} revokes a token; Cloud Files then answers 401."""
    session = login(cloud.identity_url, "alice", "alice-api-key")
    files = session.endpoint("object-store", "DFW")
    assert httpx.head(files, headers=session.headers).status_code == 204
    revoke = httpx.delete(f"{cloud.identity_url}/tokens/{session.token}", headers=session.headers)
    assert revoke.status_code == 204
    assert httpx.head(files, headers=session.headers).status_code == 401


def test_tokens_expire_after_the_configured_lifetime(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """With a one-second token lifetime, a token works, then gets 401, and re-auth works."""
    settings = LocalCloudSettings(data_dir=tmp_path, token_lifetime=1.0)
    with LocalCloud(settings) as cloud:
        session = login(cloud.identity_url, "alice", "alice-api-key")
        files = session.endpoint("object-store", "DFW")
        assert httpx.head(files, headers=session.headers).status_code == 204
        time.sleep(1.2)
        assert httpx.head(files, headers=session.headers).status_code == 401
        fresh = login(cloud.identity_url, "alice", "alice-api-key")
        assert httpx.head(files, headers=fresh.headers).status_code == 204


def test_extra_accounts_are_declared_at_start(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Accounts given in settings exist with their key and region; ids are stable."""
    spec = AccountSpec(username="dave", api_key="dave-key", default_region="ORD")
    with LocalCloud(LocalCloudSettings(data_dir=tmp_path / "one", accounts=[spec])) as one:
        first = one.account("dave")
        session = login(one.identity_url, "dave", "dave-key")
        assert session.access["user"]["RAX-AUTH:defaultRegion"] == "ORD"
    with LocalCloud(LocalCloudSettings(data_dir=tmp_path / "two", accounts=[spec])) as two:
        assert two.account("dave") == first


def test_account_spec_parsing_rejects_malformed_values() -> None:
    """--account takes USERNAME:APIKEY[:REGION] and nothing else."""
    assert AccountSpec.parse("eve:k1").username == "eve"
    assert AccountSpec.parse("eve:k1:lon").default_region == "LON"
    for bad in ("eve", "eve:", ":k", "a:b:c:d"):
        with pytest.raises(ValueError, match="USERNAME:APIKEY"):
            AccountSpec.parse(bad)
