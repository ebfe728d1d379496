"""Each tolerated Cloud Files vs Swift difference, asserted on both targets (see differences.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from differences import DIFFERENCES, by_id
from targets import ObjectStoreTarget

DOC = Path(__file__).resolve().parents[2] / "docs" / "cloudfiles-differences.md"


def test_every_difference_has_its_test_and_doc_entry() -> None:
    """Every listed difference names a test in this module and appears in the docs page."""
    doc = DOC.read_text()
    for difference in DIFFERENCES:
        assert callable(globals().get(difference.test)), difference.test
        assert f"`{difference.id}`" in doc, difference.id


def test_cf_auth_protocol(target: ObjectStoreTarget) -> None:
    """CF-AUTH: only real Swift answers tempauth v1.0 on the storage host."""
    assert by_id("CF-AUTH")
    user = {"swift": ("test:tester", "testing"), "localcloud": ("alice", "alice-api-key")}
    name, key = user[target.name]
    resp = target.http.get(
        f"{target.root_url}/auth/v1.0", headers={"X-Auth-User": name, "X-Auth-Key": key}
    )
    if target.name == "swift":
        assert resp.status_code == 200
        assert resp.headers["X-Storage-Url"] == target.a.storage_url
    else:
        assert 400 <= resp.status_code < 500
        assert "X-Auth-Token" not in resp.headers


def test_cf_account_prefix(target: ObjectStoreTarget) -> None:
    """CF-ACCOUNT: accounts are AUTH_<name> on Swift and MossoCloudFS_<uuid> on Cloud Files."""
    pattern = {
        "swift": r"AUTH_test",
        "localcloud": r"MossoCloudFS_[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}",
    }[target.name]
    assert re.fullmatch(pattern, target.a.account)
    assert target.a.storage_url.endswith(f"/v1/{target.a.account}")
    assert target.b.account != target.a.account


@pytest.mark.parametrize("form", ["principal", "bare-user"])
def test_cf_acl_principal(target: ObjectStoreTarget, form: str) -> None:
    """CF-ACL: the target's principal always grants; a bare user name grants only on Cloud Files."""
    container = target.container()
    target.http.put(target.a.url(container, "o"), headers=target.a.auth, content=b"x")
    principal = target.b.acl_principal
    value = principal if form == "principal" else principal.rsplit(":", 1)[-1]
    grant = target.http.post(
        target.a.url(container), headers={**target.a.auth, "X-Container-Read": value}
    )
    read = target.http.get(target.a.url(container, "o"), headers=target.b.auth)
    granted = form == "principal" or target.name == "localcloud"
    assert grant.status_code == 204
    assert read.status_code == (200 if granted else 403)
