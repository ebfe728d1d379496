"""Temporary URLs: account key, HMAC signatures (sha256, sha1, hand-made), expiry, tampering."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator

import pytest
from swiftclient.utils import generate_temp_url  # type: ignore[import-untyped]
from targets import ObjectStoreTarget

KEY = "conformance-temp-url-key"


@pytest.fixture
def signed_path(target: ObjectStoreTarget) -> Iterator[str]:
    """Path /v1/<account>/<container>/obj of a 4-byte object, with the account's key set."""
    container = target.container()
    resp = target.http.post(
        target.a.storage_url, headers={**target.a.auth, "X-Account-Meta-Temp-URL-Key": KEY}
    )
    assert resp.status_code == 204
    put = target.http.put(target.a.url(container, "obj"), headers=target.a.auth, content=b"temp")
    assert put.status_code == 201
    yield f"{target.a.path}/{container}/obj"
    target.http.post(
        target.a.storage_url, headers={**target.a.auth, "X-Remove-Account-Meta-Temp-URL-Key": "x"}
    )


def _sig(method: str, expires: int, path: str, digest: str = "sha256") -> str:
    message = f"{method}\n{expires}\n{path}".encode()
    return hmac.new(KEY.encode(), message, digest).hexdigest()


def test_key_is_shown_to_the_owner(target: ObjectStoreTarget, signed_path: str) -> None:
    """HEAD on the account shows the Temp-URL key to its owner."""
    resp = target.http.head(target.a.storage_url, headers=target.a.auth)
    assert resp.status_code == 204
    assert resp.headers["X-Account-Meta-Temp-Url-Key"] == KEY


@pytest.mark.parametrize("digest", ["sha256", "sha1"])
def test_swiftclient_signed_get(target: ObjectStoreTarget, signed_path: str, digest: str) -> None:
    """A GET URL signed by swiftclient works without any token."""
    url = generate_temp_url(signed_path, 60, KEY, "GET", digest=digest)
    resp = target.http.get(target.root_url + url)
    assert resp.status_code == 200
    assert resp.content == b"temp"


def test_hand_made_signature(target: ObjectStoreTarget, signed_path: str) -> None:
    """hex(HMAC-SHA256(key, "GET\\n<expires>\\n<path>")) in temp_url_sig grants GET and HEAD."""
    expires = int(time.time()) + 60
    params = {"temp_url_sig": _sig("GET", expires, signed_path), "temp_url_expires": str(expires)}
    get = target.http.get(target.root_url + signed_path, params=params)
    head = target.http.head(target.root_url + signed_path, params=params)
    assert get.status_code == 200
    assert get.content == b"temp"
    assert head.status_code == 200
    assert head.headers["Content-Length"] == "4"


def test_tampered_signature_is_401(target: ObjectStoreTarget, signed_path: str) -> None:
    """Changing one hex digit of the signature answers 401."""
    expires = int(time.time()) + 60
    sig = _sig("GET", expires, signed_path)
    bad = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    params = {"temp_url_sig": bad, "temp_url_expires": str(expires)}
    resp = target.http.get(target.root_url + signed_path, params=params)
    assert resp.status_code == 401


def test_expired_signature_is_401(target: ObjectStoreTarget, signed_path: str) -> None:
    """A correctly signed URL whose expiry has passed answers 401."""
    expires = int(time.time()) - 10
    params = {"temp_url_sig": _sig("GET", expires, signed_path), "temp_url_expires": str(expires)}
    resp = target.http.get(target.root_url + signed_path, params=params)
    assert resp.status_code == 401


def test_signature_is_bound_to_the_path(target: ObjectStoreTarget, signed_path: str) -> None:
    """A signature for one object does not open another one in the same container: 401."""
    expires = int(time.time()) + 60
    params = {"temp_url_sig": _sig("GET", expires, signed_path), "temp_url_expires": str(expires)}
    resp = target.http.get(target.root_url + signed_path + "-other", params=params)
    assert resp.status_code == 401


def test_signature_is_bound_to_the_method(target: ObjectStoreTarget, signed_path: str) -> None:
    """A GET signature does not allow PUT (401) and a PUT signature does not allow GET (401)."""
    get_url = generate_temp_url(signed_path, 60, KEY, "GET", digest="sha256")
    put_url = generate_temp_url(signed_path, 60, KEY, "PUT", digest="sha256")
    put_with_get = target.http.put(target.root_url + get_url, content=b"x")
    get_with_put = target.http.get(target.root_url + put_url)
    assert put_with_get.status_code == 401
    assert get_with_put.status_code == 401


def test_signed_put_uploads(target: ObjectStoreTarget, signed_path: str) -> None:
    """A PUT URL uploads without a token (201 with the md5 Etag)."""
    url = generate_temp_url(signed_path, 60, KEY, "PUT", digest="sha256")
    resp = target.http.put(target.root_url + url, content=b"replaced")
    got = target.http.get(target.root_url + signed_path, headers=target.a.auth)
    assert resp.status_code == 201
    assert resp.headers["Etag"] == hashlib.md5(b"replaced").hexdigest()
    assert got.content == b"replaced"


def test_without_key_nothing_validates(target: ObjectStoreTarget, signed_path: str) -> None:
    """Once the account key is removed, previously valid signatures answer 401."""
    url = generate_temp_url(signed_path, 60, KEY, "GET", digest="sha256")
    target.http.post(
        target.a.storage_url, headers={**target.a.auth, "X-Remove-Account-Meta-Temp-URL-Key": "x"}
    )
    resp = target.http.get(target.root_url + url)
    assert resp.status_code == 401
