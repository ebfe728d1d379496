"""Static and Dynamic Large Objects: manifests, ETags, concatenation, validation, deletion."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import httpx
import pytest
from targets import ObjectStoreTarget

SEGMENTS = (b"a" * 10, b"b" * 3, b"c" * 7)
WHOLE = b"".join(SEGMENTS)
SEGMENT_MD5S = [hashlib.md5(s).hexdigest() for s in SEGMENTS]
MULTI_ETAG = hashlib.md5("".join(SEGMENT_MD5S).encode()).hexdigest()


@dataclass
class Segmented:
    """A container with three uploaded segments and the SLO manifest that lists them."""

    container: str
    manifest: list[dict[str, object]]

    def body(self) -> str:
        """The manifest as the JSON text PUT with ?multipart-manifest=put."""
        return json.dumps(self.manifest)


@pytest.fixture
def segmented(target: ObjectStoreTarget) -> Segmented:
    """Segments seg/000..seg/002 (10, 3 and 7 bytes) in a fresh container."""
    container = target.container()
    manifest: list[dict[str, object]] = []
    for n, data in enumerate(SEGMENTS):
        name = f"seg/{n:03d}"
        resp = target.http.put(target.a.url(container, name), headers=target.a.auth, content=data)
        assert resp.status_code == 201
        manifest.append(
            {"path": f"/{container}/{name}", "etag": resp.headers["Etag"], "size_bytes": len(data)}
        )
    return Segmented(container, manifest)


def _put_manifest(
    target: ObjectStoreTarget, container: str, body: str, name: str = "slo"
) -> httpx.Response:
    return target.http.put(
        target.a.url(container, name),
        headers=target.a.auth,
        params={"multipart-manifest": "put"},
        content=body,
    )


def _names(target: ObjectStoreTarget, container: str) -> list[str]:
    resp = target.http.get(
        target.a.url(container), headers=target.a.auth, params={"format": "json"}
    )
    return [e["name"] for e in resp.json()]


def test_slo_put_answers_quoted_multipart_etag(
    target: ObjectStoreTarget, segmented: Segmented
) -> None:
    """The manifest PUT answers 201 with the quoted md5 of the concatenated segment md5s."""
    resp = _put_manifest(target, segmented.container, segmented.body())
    assert resp.status_code == 201
    assert resp.headers["Etag"] == f'"{MULTI_ETAG}"'


def test_slo_head_and_get(target: ObjectStoreTarget, segmented: Segmented) -> None:
    """HEAD shows X-Static-Large-Object, total length and quoted ETag; GET concatenates."""
    _put_manifest(target, segmented.container, segmented.body())
    url = target.a.url(segmented.container, "slo")
    head = target.http.head(url, headers=target.a.auth)
    get = target.http.get(url, headers=target.a.auth)
    assert head.status_code == 200
    assert head.headers["X-Static-Large-Object"] == "True"
    assert head.headers["Content-Length"] == "20"
    assert head.headers["Etag"] == f'"{MULTI_ETAG}"'
    assert get.status_code == 200
    assert get.content == WHOLE
    assert get.headers["Etag"] == f'"{MULTI_ETAG}"'


def test_slo_range_spans_segments(target: ObjectStoreTarget, segmented: Segmented) -> None:
    """A Range across segment boundaries answers 206 with the right bytes."""
    _put_manifest(target, segmented.container, segmented.body())
    url = target.a.url(segmented.container, "slo")
    resp = target.http.get(url, headers={**target.a.auth, "Range": "bytes=8-12"})
    assert resp.status_code == 206
    assert resp.headers["Content-Range"] == "bytes 8-12/20"
    assert resp.content == WHOLE[8:13]


def test_slo_manifest_get(target: ObjectStoreTarget, segmented: Segmented) -> None:
    """?multipart-manifest=get returns the stored manifest as JSON (name, bytes, hash…)."""
    _put_manifest(target, segmented.container, segmented.body())
    url = target.a.url(segmented.container, "slo")
    resp = target.http.get(url, headers=target.a.auth, params={"multipart-manifest": "get"})
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    assert resp.headers["X-Static-Large-Object"] == "True"
    stored = resp.json()
    assert [e["name"] for e in stored] == [m["path"] for m in segmented.manifest]
    assert [e["hash"] for e in stored] == SEGMENT_MD5S
    assert [e["bytes"] for e in stored] == [10, 3, 7]
    assert all({"content_type", "last_modified"} <= e.keys() for e in stored)


def test_slo_in_container_listing(target: ObjectStoreTarget, segmented: Segmented) -> None:
    """The container listing shows the SLO with its total size and an slo_etag."""
    _put_manifest(target, segmented.container, segmented.body())
    resp = target.http.get(
        target.a.url(segmented.container),
        headers=target.a.auth,
        params={"format": "json", "prefix": "slo"},
    )
    (entry,) = resp.json()
    assert entry["bytes"] == 20
    assert entry["slo_etag"] == f'"{MULTI_ETAG}"'


def test_slo_allows_null_etag_and_size(target: ObjectStoreTarget, segmented: Segmented) -> None:
    """etag and size_bytes may be null (or absent); the server fills them in."""
    loose = [{"path": m["path"], "etag": None, "size_bytes": None} for m in segmented.manifest]
    loose[2] = {"path": segmented.manifest[2]["path"]}
    resp = _put_manifest(target, segmented.container, json.dumps(loose))
    head = target.http.head(target.a.url(segmented.container, "slo"), headers=target.a.auth)
    assert resp.status_code == 201
    assert head.headers["Content-Length"] == "20"
    assert head.headers["Etag"] == f'"{MULTI_ETAG}"'


def test_slo_small_middle_segment_is_accepted(
    target: ObjectStoreTarget, segmented: Segmented
) -> None:
    """Swift 2.38 has min_segment_size 1: a 3-byte segment that is not last is fine."""
    reordered = [segmented.manifest[1], segmented.manifest[0]]
    resp = _put_manifest(target, segmented.container, json.dumps(reordered))
    got = target.http.get(target.a.url(segmented.container, "slo"), headers=target.a.auth)
    assert resp.status_code == 201
    assert got.content == SEGMENTS[1] + SEGMENTS[0]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"path": "/{c}/seg/999"}, "404 Not Found"),
        ({"etag": "0" * 32}, "Etag Mismatch"),
        ({"size_bytes": 11}, "Size Mismatch"),
    ],
)
def test_slo_bad_segment_is_rejected(
    target: ObjectStoreTarget, segmented: Segmented, change: dict[str, object], reason: str
) -> None:
    """A missing segment, wrong etag or wrong size_bytes gives 400 and no manifest object."""
    first = {**segmented.manifest[0], **change}
    if isinstance(first["path"], str):
        first["path"] = first["path"].format(c=segmented.container)
    body = json.dumps([first, *segmented.manifest[1:]])
    resp = _put_manifest(target, segmented.container, body)
    head = target.http.head(target.a.url(segmented.container, "slo"), headers=target.a.auth)
    assert resp.status_code == 400
    assert reason in resp.text
    assert head.status_code == 404


def test_slo_delete_with_segments(target: ObjectStoreTarget, segmented: Segmented) -> None:
    """DELETE ?multipart-manifest=delete removes the manifest and all its segments."""
    _put_manifest(target, segmented.container, segmented.body())
    url = target.a.url(segmented.container, "slo")
    resp = target.http.delete(
        url,
        headers={**target.a.auth, "Accept": "application/json"},
        params={"multipart-manifest": "delete"},
    )
    assert resp.status_code == 200
    assert resp.json()["Number Deleted"] == 4
    assert resp.json()["Errors"] == []
    assert _names(target, segmented.container) == []


def test_slo_plain_delete_keeps_segments(target: ObjectStoreTarget, segmented: Segmented) -> None:
    """A plain DELETE of an SLO removes only the manifest."""
    _put_manifest(target, segmented.container, segmented.body())
    resp = target.http.delete(target.a.url(segmented.container, "slo"), headers=target.a.auth)
    assert resp.status_code == 204
    assert _names(target, segmented.container) == ["seg/000", "seg/001", "seg/002"]


def test_dlo_concatenates_by_prefix(target: ObjectStoreTarget, segmented: Segmented) -> None:
    """A zero-byte X-Object-Manifest object reads as its prefix's segments in name order."""
    url = target.a.url(segmented.container, "dlo")
    value = f"{segmented.container}/seg/"
    put = target.http.put(url, headers={**target.a.auth, "X-Object-Manifest": value}, content=b"")
    head = target.http.head(url, headers=target.a.auth)
    get = target.http.get(url, headers=target.a.auth)
    assert put.status_code == 201
    assert put.headers["Etag"] == hashlib.md5(b"").hexdigest()
    assert head.status_code == 200
    assert head.headers["X-Object-Manifest"] == value
    assert head.headers["Content-Length"] == "20"
    assert head.headers["Etag"] == f'"{MULTI_ETAG}"'
    assert get.status_code == 200
    assert get.content == WHOLE


def test_dlo_manifest_get_returns_the_stub(target: ObjectStoreTarget, segmented: Segmented) -> None:
    """?multipart-manifest=get on a DLO returns the empty manifest object itself."""
    url = target.a.url(segmented.container, "dlo")
    value = f"{segmented.container}/seg/"
    target.http.put(url, headers={**target.a.auth, "X-Object-Manifest": value}, content=b"")
    resp = target.http.get(url, headers=target.a.auth, params={"multipart-manifest": "get"})
    assert resp.status_code == 200
    assert resp.content == b""
    assert resp.headers["X-Object-Manifest"] == value
    assert resp.headers["Etag"] == hashlib.md5(b"").hexdigest()


def test_dlo_follows_new_segments(target: ObjectStoreTarget, segmented: Segmented) -> None:
    """A segment added later under the prefix is part of the next GET."""
    url = target.a.url(segmented.container, "dlo")
    value = f"{segmented.container}/seg/"
    target.http.put(url, headers={**target.a.auth, "X-Object-Manifest": value}, content=b"")
    target.http.put(
        target.a.url(segmented.container, "seg/003"), headers=target.a.auth, content=b"dd"
    )
    resp = target.http.get(url, headers=target.a.auth)
    assert resp.status_code == 200
    assert resp.content == WHOLE + b"dd"


def test_copying_an_slo_makes_a_plain_object(
    target: ObjectStoreTarget, segmented: Segmented
) -> None:
    """A server-side copy of an SLO stores the concatenation, with the content md5 as Etag."""
    _put_manifest(target, segmented.container, segmented.body())
    dst = target.a.url(segmented.container, "flat")
    resp = target.http.put(
        dst, headers={**target.a.auth, "X-Copy-From": f"/{segmented.container}/slo"}
    )
    head = target.http.head(dst, headers=target.a.auth)
    assert resp.status_code == 201
    assert resp.headers["Etag"] == hashlib.md5(WHOLE).hexdigest()
    assert "X-Static-Large-Object" not in head.headers
    assert head.headers["Content-Length"] == "20"


def test_copying_the_manifest_shares_segments(
    target: ObjectStoreTarget, segmented: Segmented
) -> None:
    """Copying with ?multipart-manifest=get makes a second SLO over the same segments."""
    _put_manifest(target, segmented.container, segmented.body())
    dst = target.a.url(segmented.container, "slo-copy")
    resp = target.http.put(
        dst,
        headers={**target.a.auth, "X-Copy-From": f"/{segmented.container}/slo"},
        params={"multipart-manifest": "get"},
    )
    head = target.http.head(dst, headers=target.a.auth)
    got = target.http.get(dst, headers=target.a.auth)
    assert resp.status_code == 201
    assert head.headers["X-Static-Large-Object"] == "True"
    assert head.headers["Etag"] == f'"{MULTI_ETAG}"'
    assert got.content == WHOLE
