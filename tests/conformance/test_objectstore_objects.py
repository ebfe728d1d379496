"""Objects: upload, integrity, ranges, metadata, expiry, deletion, tenant isolation."""

from __future__ import annotations

import hashlib
import time

import pytest
from targets import ObjectStoreTarget, chunks

BODY = b"0123456789abcdefghij"  # 20 bytes
BODY_MD5 = hashlib.md5(BODY).hexdigest()


@pytest.fixture
def obj(target: ObjectStoreTarget) -> str:
    """URL of a 20-byte text object in a fresh container of account a."""
    url = target.a.url(target.container(), "obj.txt")
    resp = target.http.put(
        url,
        headers={**target.a.auth, "Content-Type": "text/plain", "X-Object-Meta-Color": "blue"},
        content=BODY,
    )
    assert resp.status_code == 201
    return url


def test_put_returns_md5_etag(target: ObjectStoreTarget) -> None:
    """PUT answers 201 with the unquoted md5 hex of the body as Etag."""
    url = target.a.url(target.container(), "o")
    resp = target.http.put(url, headers=target.a.auth, content=BODY)
    assert resp.status_code == 201
    assert resp.headers["Etag"] == BODY_MD5
    assert "Last-Modified" in resp.headers


def test_put_chunked(target: ObjectStoreTarget) -> None:
    """A Transfer-Encoding: chunked upload is stored whole, with the md5 Etag."""
    url = target.a.url(target.container(), "chunked")
    resp = target.http.put(url, headers=target.a.auth, content=chunks(BODY, 3))
    got = target.http.get(url, headers=target.a.auth)
    assert resp.request.headers["Transfer-Encoding"] == "chunked"
    assert resp.status_code == 201
    assert resp.headers["Etag"] == BODY_MD5
    assert got.content == BODY
    assert got.headers["Content-Length"] == "20"


def test_put_with_matching_etag(target: ObjectStoreTarget) -> None:
    """A request ETag equal to the body's md5 is accepted."""
    url = target.a.url(target.container(), "o")
    resp = target.http.put(url, headers={**target.a.auth, "ETag": BODY_MD5}, content=BODY)
    assert resp.status_code == 201
    assert resp.headers["Etag"] == BODY_MD5


def test_put_with_wrong_etag_stores_nothing(target: ObjectStoreTarget) -> None:
    """A request ETag that does not match the body gives 422 and leaves no object behind."""
    url = target.a.url(target.container(), "o")
    resp = target.http.put(url, headers={**target.a.auth, "ETag": "0" * 32}, content=BODY)
    head = target.http.head(url, headers=target.a.auth)
    assert resp.status_code == 422
    assert head.status_code == 404


def test_get_whole_object(target: ObjectStoreTarget, obj: str) -> None:
    """GET returns the bytes with Etag, Content-Length, Content-Type and metadata."""
    resp = target.http.get(obj, headers=target.a.auth)
    assert resp.status_code == 200
    assert resp.content == BODY
    assert resp.headers["Etag"] == BODY_MD5
    assert resp.headers["Content-Length"] == "20"
    assert resp.headers["Content-Type"] == "text/plain"
    assert resp.headers["X-Object-Meta-Color"] == "blue"
    assert resp.headers["Accept-Ranges"] == "bytes"
    assert "X-Timestamp" in resp.headers
    assert "Last-Modified" in resp.headers


def test_head_object(target: ObjectStoreTarget, obj: str) -> None:
    """HEAD answers 200 with the GET headers and no body."""
    resp = target.http.head(obj, headers=target.a.auth)
    assert resp.status_code == 200
    assert resp.content == b""
    assert resp.headers["Content-Length"] == "20"
    assert resp.headers["Etag"] == BODY_MD5


@pytest.mark.parametrize(
    ("header", "content_range", "body"),
    [
        ("bytes=0-3", "bytes 0-3/20", b"0123"),
        ("bytes=10-", "bytes 10-19/20", b"abcdefghij"),
        ("bytes=-4", "bytes 16-19/20", b"ghij"),
        ("bytes=15-99", "bytes 15-19/20", b"fghij"),
    ],
)
def test_range_get(
    target: ObjectStoreTarget, obj: str, header: str, content_range: str, body: bytes
) -> None:
    """A satisfiable Range answers 206 with Content-Range and exactly those bytes."""
    resp = target.http.get(obj, headers={**target.a.auth, "Range": header})
    assert resp.status_code == 206
    assert resp.headers["Content-Range"] == content_range
    assert resp.content == body
    assert resp.headers["Content-Length"] == str(len(body))


@pytest.mark.parametrize("header", ["bytes=20-", "bytes=25-30"])
def test_range_out_of_bounds(target: ObjectStoreTarget, obj: str, header: str) -> None:
    """A Range starting past the end answers 416 with `Content-Range: bytes */<size>`."""
    resp = target.http.get(obj, headers={**target.a.auth, "Range": header})
    assert resp.status_code == 416
    assert resp.headers["Content-Range"] == "bytes */20"


def test_unparsable_range_is_ignored(target: ObjectStoreTarget, obj: str) -> None:
    """A syntactically invalid Range header is ignored: 200 with the whole object."""
    resp = target.http.get(obj, headers={**target.a.auth, "Range": "bytes=garbage"})
    assert resp.status_code == 200
    assert resp.content == BODY


def test_post_replaces_metadata(target: ObjectStoreTarget, obj: str) -> None:
    """POST answers 202 and replaces all X-Object-Meta-*; Content-Type is kept."""
    resp = target.http.post(obj, headers={**target.a.auth, "X-Object-Meta-Size": "big"})
    head = target.http.head(obj, headers=target.a.auth)
    assert resp.status_code == 202
    assert head.headers["X-Object-Meta-Size"] == "big"
    assert "X-Object-Meta-Color" not in head.headers
    assert head.headers["Content-Type"] == "text/plain"
    assert head.headers["Etag"] == BODY_MD5


def test_put_overwrites(target: ObjectStoreTarget, obj: str) -> None:
    """A second PUT replaces content and metadata."""
    resp = target.http.put(obj, headers=target.a.auth, content=b"new")
    got = target.http.get(obj, headers=target.a.auth)
    assert resp.status_code == 201
    assert got.content == b"new"
    assert "X-Object-Meta-Color" not in got.headers


def test_delete_object(target: ObjectStoreTarget, obj: str) -> None:
    """DELETE answers 204; afterwards GET and a second DELETE answer 404."""
    first = target.http.delete(obj, headers=target.a.auth)
    get = target.http.get(obj, headers=target.a.auth)
    second = target.http.delete(obj, headers=target.a.auth)
    assert first.status_code == 204
    assert get.status_code == 404
    assert second.status_code == 404


def test_delete_after_expires_object(target: ObjectStoreTarget) -> None:
    """X-Delete-After sets X-Delete-At; once it passes, the object answers 404."""
    url = target.a.url(target.container(), "short-lived")
    before = int(time.time())
    resp = target.http.put(url, headers={**target.a.auth, "X-Delete-After": "1"}, content=b"x")
    head = target.http.head(url, headers=target.a.auth)
    assert resp.status_code == 201
    assert head.status_code == 200
    assert before <= int(head.headers["X-Delete-At"]) <= before + 3
    time.sleep(2.2)
    assert target.http.head(url, headers=target.a.auth).status_code == 404
    assert target.http.get(url, headers=target.a.auth).status_code == 404


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("noext", "application/octet-stream"), ("a.json", "application/json")],
)
def test_content_type_defaults(target: ObjectStoreTarget, name: str, content_type: str) -> None:
    """Without Content-Type the server guesses from the name's extension, else octet-stream."""
    url = target.a.url(target.container(), name)
    resp = target.http.put(url, headers=target.a.auth, content=b"{}")
    head = target.http.head(url, headers=target.a.auth)
    assert resp.status_code == 201
    assert head.headers["Content-Type"] == content_type


def test_missing_object(target: ObjectStoreTarget) -> None:
    """GET, HEAD, POST and DELETE of an absent object answer 404."""
    url = target.a.url(target.container(), "absent")
    auth = target.a.auth
    assert target.http.get(url, headers=auth).status_code == 404
    assert target.http.head(url, headers=auth).status_code == 404
    assert target.http.post(url, headers=auth).status_code == 404
    assert target.http.delete(url, headers=auth).status_code == 404


def test_other_tenant_is_forbidden(target: ObjectStoreTarget, obj: str) -> None:
    """Account b's token may not list, read, write, change or delete in account a: 403."""
    container_url = obj.rsplit("/", 1)[0]
    other = target.b.auth
    assert target.http.head(target.a.storage_url, headers=other).status_code == 403
    assert target.http.get(container_url, headers=other).status_code == 403
    assert target.http.get(obj, headers=other).status_code == 403
    assert target.http.put(f"{container_url}/new", headers=other, content=b"x").status_code == 403
    assert target.http.post(obj, headers=other).status_code == 403
    assert target.http.delete(obj, headers=other).status_code == 403
    assert target.http.get(obj, headers=target.a.auth).content == BODY


@pytest.mark.parametrize("token", [None, "nonsense", "AUTH_ftkgAAAAAB" + "x" * 40])
def test_missing_or_bad_token_is_401(
    target: ObjectStoreTarget, obj: str, token: str | None
) -> None:
    """Without a token, or with one the server never issued, every call answers 401."""
    headers = {} if token is None else {"X-Auth-Token": token}
    assert target.http.get(target.a.storage_url, headers=headers).status_code == 401
    assert target.http.get(obj, headers=headers).status_code == 401
    assert target.http.put(obj, headers=headers, content=b"x").status_code == 401
    assert target.http.delete(obj, headers=headers).status_code == 401


def test_fresh_token_works(target: ObjectStoreTarget, obj: str) -> None:
    """A second login returns a token that works alongside the first."""
    again = target.reauth("a")
    resp = target.http.get(obj, headers=again.auth)
    assert resp.status_code == 200
    assert again.storage_url == target.a.storage_url
