"""Cloud Files features in the fast loop: versioning, CORS, quotas, bulk, SLO data segments.

Swift's own suite (``tests/conformance/test_swift_suite.py``, slow) covers them in depth
against real Swift too; these pin the essentials without a real Swift.
"""

from __future__ import annotations

import base64
import io
import json
import tarfile
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.helpers.identity import Session


@pytest.fixture
def files(alice: Session) -> Iterator[httpx.Client]:
    """A client on alice's DFW storage URL, with her token."""
    client = httpx.Client(base_url=alice.endpoint("object-store", "DFW"), headers=alice.headers)
    yield client
    client.close()


def _container(files: httpx.Client, **headers: str) -> str:
    name = f"feat-{uuid.uuid4().hex[:10]}"
    assert files.put(f"/{name}", headers=headers).status_code == 201
    return name


def test_versions_location_keeps_and_restores_overwritten_objects(files: httpx.Client) -> None:
    """Stack mode: each overwrite is archived; DELETE brings the previous version back."""
    archive = _container(files)
    current = _container(files, **{"X-Versions-Location": archive})
    for body in (b"one", b"two", b"three"):
        assert files.put(f"/{current}/o", content=body).status_code == 201
    names = files.get(f"/{archive}").text.split()
    assert len(names) == 2
    assert all(n.startswith("001o/") for n in names)
    assert files.delete(f"/{current}/o").status_code == 204
    assert files.get(f"/{current}/o").content == b"two"
    assert files.delete(f"/{current}/o").status_code == 204
    assert files.get(f"/{current}/o").content == b"one"
    assert files.delete(f"/{current}/o").status_code == 204
    assert files.get(f"/{current}/o").status_code == 404


def test_history_location_leaves_a_delete_marker(files: httpx.Client) -> None:
    """History mode: DELETE archives the object and writes a delete marker."""
    archive = _container(files)
    current = _container(files, **{"X-History-Location": archive})
    assert files.put(f"/{current}/o", content=b"data").status_code == 201
    assert files.delete(f"/{current}/o").status_code == 204
    listing = files.get(f"/{archive}", params={"format": "json"}).json()
    assert [e["content_type"] for e in listing][-1].startswith("application/x-deleted")
    assert files.get(f"/{current}/o").status_code == 404


def test_cors_preflight_and_actual_request(files: httpx.Client, alice: Session) -> None:
    """The container's allowed origin gets the preflight and the headers; others get 401."""
    name = _container(files, **{"X-Container-Meta-Access-Control-Allow-Origin": "http://a.test"})
    assert files.put(f"/{name}/o", content=b"x", headers={"X-Object-Meta-Color": "red"}).is_success
    url = f"{alice.endpoint('object-store', 'DFW')}/{name}/o"
    ok = {"Origin": "http://a.test", "Access-Control-Request-Method": "GET"}
    preflight = httpx.options(url, headers=ok)
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://a.test"
    refused = httpx.options(url, headers={**ok, "Origin": "http://b.test"})
    assert refused.status_code == 401
    actual = files.get(f"/{name}/o", headers={"Origin": "http://a.test"})
    assert actual.headers["Access-Control-Allow-Origin"] == "http://a.test"
    assert "x-object-meta-color" in actual.headers["Access-Control-Expose-Headers"]


def test_container_quota_refuses_the_write_that_would_exceed_it(files: httpx.Client) -> None:
    """X-Container-Meta-Quota-Bytes: a PUT over it is 413 and stores nothing."""
    name = _container(files, **{"X-Container-Meta-Quota-Bytes": "5"})
    assert files.put(f"/{name}/a", content=b"abc").status_code == 201
    assert files.put(f"/{name}/b", content=b"abc").status_code == 413
    assert files.get(f"/{name}").text.split() == ["a"]


def test_bulk_delete_reports_what_it_did(files: httpx.Client) -> None:
    """Objects first, then the emptied container; missing paths are counted, not failed."""
    name = _container(files)
    for obj in ("a", "b"):
        assert files.put(f"/{name}/{obj}", content=b"x").status_code == 201
    body = f"/{name}/a\n/{name}/b\n/{name}/missing\n/{name}\n".encode()
    answer = files.post("?bulk-delete", content=body, headers={"Accept": "application/json"})
    assert answer.status_code == 200
    report = answer.json()
    assert report["Number Deleted"] == 3
    assert report["Number Not Found"] == 1
    assert report["Response Status"] == "200 OK"
    assert files.head(f"/{name}").status_code == 404


def test_extract_archive_creates_objects_with_their_xattrs(files: httpx.Client) -> None:
    """A tar under a container path becomes objects; user.meta.* xattrs become metadata."""
    name = _container(files)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("dir/hello.txt")
        info.size = 5
        info.pax_headers = {"SCHILY.xattr.user.meta.lunch": "soup"}
        tar.addfile(info, io.BytesIO(b"hello"))
    answer = files.put(
        f"/{name}?extract-archive=tar.gz",
        content=out.getvalue(),
        headers={"Accept": "application/json"},
    )
    assert answer.json()["Number Files Created"] == 1
    got = files.get(f"/{name}/dir/hello.txt")
    assert got.content == b"hello"
    assert got.headers["X-Object-Meta-Lunch"] == "soup"


def test_slo_with_inline_data_segments(files: httpx.Client) -> None:
    """An SLO mixing data and object segments serves them in order; the manifest keeps data."""
    name = _container(files)
    assert files.put(f"/{name}/seg", content=b"middle").status_code == 201
    manifest = [
        {"data": base64.b64encode(b"head-").decode()},
        {"path": f"/{name}/seg"},
        {"data": base64.b64encode(b"-tail").decode()},
    ]
    put = files.put(f"/{name}/slo?multipart-manifest=put", content=json.dumps(manifest))
    assert put.status_code == 201
    assert files.get(f"/{name}/slo").content == b"head-middle-tail"
    ranged = files.get(f"/{name}/slo", headers={"Range": "bytes=0-1,-2"})
    assert ranged.status_code == 206
    assert ranged.headers["Content-Type"].startswith("multipart/byteranges")
    stored = files.get(f"/{name}/slo", params={"multipart-manifest": "get"}).json()
    assert stored[0] == {"data": base64.b64encode(b"head-").decode()}
    only_data = [{"data": base64.b64encode(b"x").decode()}]
    refused = files.put(f"/{name}/bad?multipart-manifest=put", content=json.dumps(only_data))
    assert refused.status_code == 400
