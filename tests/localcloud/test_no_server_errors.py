"""Bad input of every kind gets a 4xx from the local cloud, never a 500.

A corpus of malformed requests (methods, paths, headers and bodies) is sent
to every service; each answer must be a client error or a success, and the
service must keep answering afterwards.
"""

from __future__ import annotations

import itertools
import random

import httpx
import pytest

from cloudimages.localcloud import LocalCloud
from tests.helpers.identity import Session, login
from tests.helpers.keystone import V3Session, v3_login

METHODS = ["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "COPY", "OPTIONS"]
UUID = "00000000-0000-0000-0000-000000000000"
BODIES: list[bytes] = [
    b"",
    b"{",
    b"[]",
    b"null",
    b'"text"',
    b"12",
    b'{"member": 5}',
    b'{"status": ["accepted"]}',
    b'{"type": "import", "input": "x"}',
    b'{"type": "export", "input": {"image_uuid": 7, "receiving_swift_container": []}}',
    b'{"type": "import", "input": {"import_from": "", "image_properties": "n"}}',
    b'[{"op": "add"}]',
    b'[{"op": "replace", "path": "/name/x", "value": 1}]',
    b'[{"path": "/c/o", "etag": 5, "size_bytes": -1}]',
    b"\xff\xfe\x00garbage",
    b'[{"data": "!!!"}, {"path": "/c-fuzz/o"}]',
    b'[{"data": "aGVsbG8="}]',
    b"/c-fuzz/o\n/c-fuzz\n%ff%fe\n/nope/x",
    b"ustar-but-not-a-tar" * 40,
    b'{"user": {"username": "fuzz-user", "OS-KSADM:password": 5}}',
    b'{"user": {"name": ["x"], "password": "Fuzz-pass-1"}}',
    b'{"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": ["x"], "apiKey": {}}}}',
    b'{"auth": {"identity": {"methods": "password", "password": []}}}',
    b'{"auth": {"identity": {"methods": ["password"], "password": {"user": 5}}}}',
    b'{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": 1,'
    b' "domain": {"name": []}, "password": 2}}}, "scope": {"project": {"domain": 3}}}}',
    b'{"auth": {"identity": {"methods": ["application_credential"],'
    b' "application_credential": {"name": 1, "user": {"id": []}, "secret": null}}}}',
    b'{"auth": {"identity": {"methods": ["token"], "token": {"id": 7}}, "scope": {"system": 1}}}',
    b'{"application_credential": {"name": "n", "roles": [{"id": 1}], "expires_at": "x"}}',
    b'{"application_credential": {"name": ["n"], "secret": 5, "description": 6}}',
    b'{"method": {"name": "web-download", "uri": 5}}',
    b'{"method": "glance-direct"}',
    b'{"name": 5, "disk_format": "floppy", "id": "x", "tags": "t", "visibility": 1}',
    b'{"tags": [{}, []], "name": "n", "min_ram": -1, "os_hidden": "yes", "owner": null}',
]
CONTENT_TYPES = [
    "application/json",
    "application/openstack-images-v2.1-json-patch",
    "text/plain",
    "application/json; charset=bogus",
]


def _image_paths(session: Session) -> list[str]:
    return [
        "/v2/images",
        f"/v2/images/{UUID}",
        "/v2/images/not-a-uuid",
        f"/v2/images/{UUID}/tags/{'t' * 300}",
        f"/v2/images/{UUID}/members",
        f"/v2/images/{UUID}/members/{session.tenant_id}",
        "/v2/images?limit=-1",
        "/v2/images?limit=abc&marker=zzz&sort_key=nope&sort_dir=sideways",
        "/v2/images?visibility=everyone&member_status=maybe&size_min=x&size_max=y",
        "/v2/images?changes-since=2020&self=1",
        "/v2/tasks",
        f"/v2/tasks/{UUID}",
        "/v2/tasks?limit=x&marker=not-a-uuid&sort_key=nope&sort_dir=up",
        "/v2/schemas/nope",
        "/v2/%ff%fe",
        "/v2/123456/images",
    ]


def _files_paths(session: Session) -> list[str]:
    account = session.endpoint("object-store", "DFW").rsplit("/", 1)[-1]
    return [
        f"/v1/{account}",
        f"/v1/{account}/c-fuzz",
        f"/v1/{account}/c-fuzz/o",
        f"/v1/{account}/c-fuzz/o?multipart-manifest=put",
        f"/v1/{account}/c-fuzz/o?multipart-manifest=get&format=raw",
        f"/v1/{account}/c-fuzz/o?multipart-manifest=delete",
        f"/v1/{account}/c-fuzz/o?temp_url_sig=zz&temp_url_expires=soon",
        f"/v1/{account}/c-fuzz?limit=-5&delimiter=ab&format=xml",
        f"/v1/{account}/c-fuzz?path=d&limit=5000.0&reverse=on",
        f"/v1/{account}?bulk-delete",
        f"/v1/{account}/c-fuzz?extract-archive=tar",
        f"/v1/{account}/c-fuzz/p?extract-archive=tar.gz",
        f"/v1/{account}/c-fuzz/o?multipart-manifest=put&heartbeat=on",
        f"/v1/{account}/c-fuzz/o?temp_url_sig=sha256:AAAA&temp_url_expires=2030-01-01T00:00:00Z"
        "&temp_url_prefix=o",
        f"//v1/{account}/c-fuzz",
        "/v1//c-fuzz/o",
        "/v1",
        f"/v1/{account}/{'c' * 300}",
        f"/v1/{account}/c-fuzz/{'o' * 1100}",
        "/v1/MossoCloudFS_nobody/c/o",
        "/v1/",
        "/v2/elsewhere",
        "/info",
    ]


def _directory_paths(session: Session) -> list[str]:
    return [
        "/v2.0",
        "/v2.0/tenants",
        f"/v2.0/tenants/{session.tenant_id}/users/1/roles",
        "/v2.0/users?name=alice",
        "/v2.0/users/1",
        "/v2.0/users/not-a-number/roles",
        "/v2.0/users/1/roles/OS-KSADM/10000150",
        "/v2.0/users/1/OS-KSADM/credentials/RAX-KSKEY:apiKeyCredentials",
        "/v2.0/OS-KSADM/roles",
        "/v2.0/extensions",
    ]


def _headers(rng: random.Random, session: Session) -> dict[str, str]:
    headers = {"X-Auth-Token": rng.choice([session.token, session.token, "bogus", ""])}
    headers["Content-Type"] = rng.choice(CONTENT_TYPES)
    extras = [
        ("Range", "bytes=9-2"),
        ("Range", "bytes=-0"),
        ("X-Copy-From", "/nowhere"),
        ("X-Copy-From", "c-fuzz/o"),
        ("Destination", "no-slash"),
        ("X-Object-Manifest", "noslash"),
        ("X-Delete-At", "yesterday"),
        ("X-Delete-After", "-3"),
        ("ETag", "not-an-md5"),
        ("X-Container-Read", ".r:"),
        ("X-Container-Write", ".bogus"),
        ("X-Object-Meta-" + "k" * 200, "v"),
        ("If-None-Match", "*"),
        ("Destination-Account", "MossoCloudFS_nobody"),
        ("Origin", "http://fuzz.example"),
        ("Access-Control-Request-Method", "PUT"),
        ("X-Versions-Location", "c-fuzz/x"),
        ("X-History-Location", "c-fuzz"),
        ("X-If-Delete-At", "soon"),
        ("X-Container-Meta-Quota-Bytes", "-5"),
        ("X-Storage-Policy", "gold"),
        ("If-Modified-Since", "yesterday"),
        ("Range", "bytes=0-1,3-4,9-2"),
        ("X-Object-Manifest", "c-fuzz/%ff"),
    ]
    for key, value in rng.sample(extras, 3):
        headers[key] = value
    return headers


def _keystone_paths(v3: V3Session) -> list[str]:
    creds = f"/v3/users/{v3.user_id}/application_credentials"
    return [
        "/",
        "/v3",
        "/v3/auth/tokens",
        "/v3/auth/tokens?nocatalog",
        "/v3/auth/projects",
        "/v3/auth/domains",
        "/v3/auth/system",
        "/v3/auth/catalog",
        f"/v3/users/{v3.user_id}",
        "/v3/users/nobody/projects",
        f"/v3/projects/{v3.project_id}",
        creds,
        f"{creds}/{UUID}",
        "/v3/users/nobody/application_credentials",
        "/v3/%ff",
    ]


def _upstream_image_paths(v3: V3Session) -> list[str]:
    return [
        "/",
        "/versions",
        "/v2/images",
        f"/v2/images/{UUID}/file",
        f"/v2/images/{UUID}/stage",
        f"/v2/images/{UUID}/import",
        f"/v2/images/{UUID}/tasks",
        "/v2/images?sort=name:up&sort_key=name&os_hidden=maybe&visibility=all",
        "/v2/images?sort=nope,id:asc&member_status=x",
        "/v2/info/import",
        "/v2/info/stores",
        "/v2/info/usage",
        "/v2/tasks",
        f"/v2/tasks/{UUID}",
        "/v2/schemas/image",
        f"/v2/images/{UUID}/members/{v3.project_id}",
    ]


def _v3_headers(rng: random.Random, v3: V3Session) -> dict[str, str]:
    headers = {"X-Auth-Token": rng.choice([v3.token, v3.token, "bogus", ""])}
    headers["Content-Type"] = rng.choice([*CONTENT_TYPES, "application/octet-stream"])
    extras = [
        ("X-Subject-Token", rng.choice([v3.token, "bogus", ""])),
        ("Range", rng.choice(["bytes=9-2", "bytes=-0", "bytes=1-2,3-4", "bytes=x"])),
        ("Content-Range", "bytes 7-/x"),
        ("Accept", rng.choice(["application/json", "text/html", ""])),
    ]
    for key, value in rng.sample(extras, 3):
        headers[key] = value
    return headers


@pytest.mark.parametrize("service", ["keystone", "upstream-images", "upstream-files"])
def test_upstream_services_never_answer_a_server_error(cloud: LocalCloud, service: str) -> None:
    """The same corpus against Keystone v3 and RegionOne's Glance and Swift: below 500."""
    rng = random.Random(f"no-500-{service}")
    v3 = v3_login(cloud.keystone_url, "user1", "demo1")
    if service == "keystone":
        base, paths = cloud.keystone_url.removesuffix("/v3"), _keystone_paths(v3)
    elif service == "upstream-images":
        base, paths = v3.endpoint("image"), _upstream_image_paths(v3)
    else:
        storage = v3.endpoint("object-store")
        base = storage.split("/v1/")[0]
        account = storage.rsplit("/", 1)[-1]
        paths = [f"/v1/{account}", f"/v1/{account}/c-fuzz", f"/v1/{account}/c-fuzz/o"]
        paths += ["/v1/AUTH_nobody/c/o", "/info"]
        httpx.put(f"{storage}/c-fuzz", headers=v3.headers)
    failures = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for method, path in itertools.product(METHODS, paths):
            for body in rng.sample(BODIES, 3):
                response = http.request(method, path, content=body, headers=_v3_headers(rng, v3))
                if response.status_code >= 500:
                    failures.append(f"{method} {path} {body[:40]!r} -> {response.status_code}")
    assert failures == []
    assert v3_login(cloud.keystone_url, "user1", "demo1").token


@pytest.mark.parametrize("service", ["identity", "images", "files"])
def test_malformed_requests_never_get_a_server_error(cloud: LocalCloud, service: str) -> None:
    """Hundreds of malformed requests per service: every answer is below 500."""
    rng = random.Random(f"no-500-{service}")
    session = login(cloud.identity_url, "alice", "alice-api-key")
    if service == "identity":
        base = cloud.identity_url.removesuffix("/v2.0")
        paths = ["/v2.0/tokens", f"/v2.0/tokens/{session.token}x", "/v2.0/tokens/", "/admin/faults"]
        paths += _directory_paths(session)
    elif service == "images":
        base = session.endpoint("image", "DFW").removesuffix("/v2")
        paths = _image_paths(session)
    else:
        base = session.endpoint("object-store", "DFW").split("/v1/")[0]
        paths = _files_paths(session)
        httpx.put(f"{session.endpoint('object-store', 'DFW')}/c-fuzz", headers=session.headers)
    failures = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for method, path in itertools.product(METHODS, paths):
            for body in rng.sample(BODIES, 3):
                response = http.request(method, path, content=body, headers=_headers(rng, session))
                if response.status_code >= 500:
                    failures.append(f"{method} {path} {body[:40]!r} -> {response.status_code}")
    assert failures == []
    assert login(cloud.identity_url, "alice", "alice-api-key").token
