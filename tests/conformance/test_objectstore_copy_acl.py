"""Server-side copy within and across accounts, and the container ACLs that allow it."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from targets import ObjectStoreTarget

BODY = b"payload to copy"
MD5 = hashlib.md5(BODY).hexdigest()


@pytest.fixture
def source(target: ObjectStoreTarget) -> str:
    """Container in account a holding `src` (text/plain, X-Object-Meta-Color: blue)."""
    container = target.container(prefix="src")
    resp = target.http.put(
        target.a.url(container, "src"),
        headers={**target.a.auth, "Content-Type": "text/plain", "X-Object-Meta-Color": "blue"},
        content=BODY,
    )
    assert resp.status_code == 201
    return container


def _assert_copied(resp: httpx.Response, container: str, account: str) -> None:
    assert resp.status_code == 201, resp.text
    headers = resp.headers
    assert headers["X-Copied-From"] == f"{container}/src"
    assert headers["X-Copied-From-Account"] == account
    assert headers["X-Copied-From-Last-Modified"].endswith(" GMT")
    assert headers["Etag"] == MD5


def test_put_with_copy_from(target: ObjectStoreTarget, source: str) -> None:
    """PUT with X-Copy-From copies bytes, content type and metadata (201, X-Copied-From…)."""
    dst = target.a.url(source, "dst")
    resp = target.http.put(dst, headers={**target.a.auth, "X-Copy-From": f"/{source}/src"})
    head = target.http.get(dst, headers=target.a.auth)
    _assert_copied(resp, source, target.a.account)
    assert head.content == BODY
    assert head.headers["Content-Type"] == "text/plain"
    assert head.headers["X-Object-Meta-Color"] == "blue"


def test_copy_verb_with_destination(target: ObjectStoreTarget, source: str) -> None:
    """COPY with a Destination header copies within the account."""
    other = target.container(prefix="dst")
    resp = target.http.request(
        "COPY",
        target.a.url(source, "src"),
        headers={**target.a.auth, "Destination": f"/{other}/dst"},
    )
    got = target.http.get(target.a.url(other, "dst"), headers=target.a.auth)
    _assert_copied(resp, source, target.a.account)
    assert got.content == BODY


def test_copy_from_missing_source(target: ObjectStoreTarget, source: str) -> None:
    """Copying from an object that does not exist answers 404 and creates nothing."""
    dst = target.a.url(source, "dst")
    resp = target.http.put(dst, headers={**target.a.auth, "X-Copy-From": f"/{source}/nothing"})
    assert resp.status_code == 404
    assert target.http.head(dst, headers=target.a.auth).status_code == 404


def test_copy_can_override_metadata(target: ObjectStoreTarget, source: str) -> None:
    """Metadata sent with the copying PUT is merged over the source's."""
    dst = target.a.url(source, "dst")
    resp = target.http.put(
        dst,
        headers={**target.a.auth, "X-Copy-From": f"/{source}/src", "X-Object-Meta-Color": "red"},
    )
    head = target.http.head(dst, headers=target.a.auth)
    assert resp.status_code == 201
    assert head.headers["X-Object-Meta-Color"] == "red"


def test_cross_account_copy_from_needs_read_acl(target: ObjectStoreTarget, source: str) -> None:
    """b may pull from a (X-Copy-From-Account) only once a grants X-Container-Read: 403 before."""
    dst_container = target.container(target.b, prefix="dst")
    dst = target.b.url(dst_container, "copy")
    pull = {
        **target.b.auth,
        "X-Copy-From": f"/{source}/src",
        "X-Copy-From-Account": target.a.account,
    }
    before = target.http.put(dst, headers=pull)
    grant = target.http.post(
        target.a.url(source), headers={**target.a.auth, "X-Container-Read": target.b.acl_principal}
    )
    after = target.http.put(dst, headers=pull)
    got = target.http.get(dst, headers=target.b.auth)
    assert before.status_code == 403
    assert grant.status_code == 204
    _assert_copied(after, source, target.a.account)
    assert got.content == BODY


def test_cross_account_copy_verb_needs_write_acl(target: ObjectStoreTarget, source: str) -> None:
    """a may push into b with COPY + Destination-Account only after b grants X-Container-Write."""
    dst_container = target.container(target.b, prefix="dst")
    push = {
        **target.a.auth,
        "Destination": f"/{dst_container}/pushed",
        "Destination-Account": target.b.account,
    }
    before = target.http.request("COPY", target.a.url(source, "src"), headers=push)
    grant = target.http.post(
        target.b.url(dst_container),
        headers={**target.b.auth, "X-Container-Write": target.a.acl_principal},
    )
    after = target.http.request("COPY", target.a.url(source, "src"), headers=push)
    got = target.http.get(target.b.url(dst_container, "pushed"), headers=target.b.auth)
    assert before.status_code == 403
    assert grant.status_code == 204
    _assert_copied(after, source, target.a.account)
    assert got.content == BODY


def test_read_acl_grants_listing_and_reading(target: ObjectStoreTarget, source: str) -> None:
    """X-Container-Read lets the grantee list and GET, but not write or delete."""
    grant = {**target.a.auth, "X-Container-Read": target.b.acl_principal}
    target.http.post(target.a.url(source), headers=grant)
    head = target.http.head(target.a.url(source), headers=target.a.auth)
    listing = target.http.get(target.a.url(source), headers=target.b.auth)
    read = target.http.get(target.a.url(source, "src"), headers=target.b.auth)
    write = target.http.put(target.a.url(source, "b-was-here"), headers=target.b.auth, content=b"x")
    delete = target.http.delete(target.a.url(source, "src"), headers=target.b.auth)
    assert head.headers["X-Container-Read"] == target.b.acl_principal
    assert listing.status_code == 200
    assert listing.text == "src\n"
    assert read.status_code == 200
    assert read.content == BODY
    assert write.status_code == 403
    assert delete.status_code == 403


def test_write_acl_grants_upload(target: ObjectStoreTarget, source: str) -> None:
    """X-Container-Write lets the grantee PUT and DELETE objects, yet not read them."""
    grant = {**target.a.auth, "X-Container-Write": target.b.acl_principal}
    target.http.post(target.a.url(source), headers=grant)
    write = target.http.put(target.a.url(source, "from-b"), headers=target.b.auth, content=b"x")
    read = target.http.get(target.a.url(source, "from-b"), headers=target.b.auth)
    delete = target.http.delete(target.a.url(source, "from-b"), headers=target.b.auth)
    assert write.status_code == 201
    assert read.status_code == 403
    assert delete.status_code == 204


def test_removing_acl_revokes(target: ObjectStoreTarget, source: str) -> None:
    """X-Remove-Container-Read withdraws the grant: reads answer 403 again."""
    url = target.a.url(source)
    target.http.post(url, headers={**target.a.auth, "X-Container-Read": target.b.acl_principal})
    allowed = target.http.get(target.a.url(source, "src"), headers=target.b.auth)
    target.http.post(url, headers={**target.a.auth, "X-Remove-Container-Read": "x"})
    denied = target.http.get(target.a.url(source, "src"), headers=target.b.auth)
    assert allowed.status_code == 200
    assert denied.status_code == 403
