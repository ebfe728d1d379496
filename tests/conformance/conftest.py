"""Session servers (real Swift, the local cloud) and the parametrised ``target`` fixture.

Every test that takes ``target`` runs twice: once against a real one-replica OpenStack
Swift 2.38.3 (marked ``slow``) and once against the local cloud.  Servers live for the
session; each test creates uniquely named containers and removes them afterwards.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from realswift import RealSwift, default_cache_dir, ensure_swift_installed
from targets import CLOUD_FILES_MAX_FILE_SIZE, Account, ObjectStoreTarget
from targets_files import FileServer

from tests.helpers.openstack import real_openstack

__all__ = ["real_openstack"]  # re-exported: the real-OpenStack fixture for this folder

SWIFT_USERS = {  # role -> (tempauth user, key, ACL principal of that user)
    "a": ("test:tester", "testing"),
    "b": ("test2:tester2", "testing2"),
    "empty": ("admin:admin", "admin"),  # reseller admin; its AUTH_admin is never written to
}
LOCALCLOUD_USERS = {  # role -> (username, API key, region)
    "a": ("alice", "alice-api-key", "DFW"),
    "b": ("bob", "bob-api-key", "DFW"),
    "empty": ("carol", "carol-api-key", "IAD"),
}


def _root(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@pytest.fixture(scope="session")
def real_swift(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealSwift]:
    """A real Swift 2.38.3 cluster (proxy, account, container, object) on 127.0.0.1."""
    venv = ensure_swift_installed(default_cache_dir())
    with RealSwift(venv, tmp_path_factory.mktemp("swift")) as swift:
        yield swift


@pytest.fixture(scope="session")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The local cloud (Rackspace regions and an upstream-OpenStack RegionOne) on 127.0.0.1."""
    try:
        from cloudimages.localcloud import LocalCloud, LocalCloudSettings
        from cloudimages.localcloud.settings import OpenStackRegionSpec, OpenStackUserSpec
    except ImportError as exc:
        pytest.skip(f"cloudimages.localcloud is not usable yet: {exc}")
    # taskadmin: the admin role on demo1, as upstream task calls need (tasks-need-admin)
    taskadmin = OpenStackUserSpec(
        name="taskadmin", password="taskadmin-password", project="demo1", role="admin"
    )
    strict = OpenStackRegionSpec(  # as realopenstack.REGIONS' RegionTwo
        name="RegionTwo",
        disk_formats=("raw", "qcow2"),
        import_methods=("glance-direct",),
        storage_quota=4 * 1024**2,
    )
    settings = LocalCloudSettings(
        data_dir=tmp_path_factory.mktemp("localcloud"),
        token_lifetime=86400.0,
        openstack_regions=("RegionOne", strict),
        openstack_users=[taskadmin],
    )
    with LocalCloud(settings) as cloud:
        yield cloud


@pytest.fixture(scope="session")
def local_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileServer]:
    """An HTTP file server the local cloud's upstream regions can web-download from."""
    with FileServer(tmp_path_factory.mktemp("local-files")) as server:
        yield server


def swift_login(swift: RealSwift, role: str) -> Account:
    """tempauth v1.0: the ACL principal is ``account:user``."""
    user, key = SWIFT_USERS[role]
    storage_url, token = swift.auth_v1(user, key)
    return Account(storage_url=storage_url, token=token, acl_principal=user)


def localcloud_login(identity_url: str, role: str) -> Account:
    """Identity v2.0 API-key auth; storage URL from the object-store catalog entry."""
    username, api_key, region = LOCALCLOUD_USERS[role]
    body = {"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": username, "apiKey": api_key}}}
    resp = httpx.post(f"{identity_url.rstrip('/')}/tokens", json=body, timeout=30)
    assert resp.status_code == 200, resp.text
    access = resp.json()["access"]
    (store,) = (s for s in access["serviceCatalog"] if s["type"] == "object-store")
    (endpoint,) = (e for e in store["endpoints"] if e.get("region") == region)
    return Account(
        storage_url=endpoint["publicURL"], token=access["token"]["id"], acl_principal=username
    )


def _warn_about_leftovers(store: ObjectStoreTarget) -> None:
    """At session end, name any container the per-test cleanup failed to remove."""
    for account in (store.a, store.b):
        names = store.http.get(account.storage_url, headers=account.auth).text.split()
        if names:
            warnings.warn(f"{store.name} {account.account} kept containers {names}", stacklevel=1)


@pytest.fixture(scope="session")
def swift_store(real_swift: RealSwift) -> Iterator[ObjectStoreTarget]:
    """Session-wide logins into real Swift."""
    store = ObjectStoreTarget.open(
        name="swift",
        root_url=real_swift.proxy_url,
        max_file_size=real_swift.max_file_size,
        login=lambda role: swift_login(real_swift, role),
    )
    yield store
    _warn_about_leftovers(store)


@pytest.fixture(scope="session")
def localcloud_store(local_cloud: object) -> Iterator[ObjectStoreTarget]:
    """Session-wide logins into the local cloud."""
    identity_url: str = local_cloud.identity_url  # type: ignore[attr-defined]
    a = localcloud_login(identity_url, "a")
    store = ObjectStoreTarget.open(
        name="localcloud",
        root_url=_root(a.storage_url),
        max_file_size=getattr(local_cloud, "max_file_size", CLOUD_FILES_MAX_FILE_SIZE),
        login=lambda role: localcloud_login(identity_url, role),
    )
    yield store
    _warn_about_leftovers(store)


@pytest.fixture(
    params=[pytest.param("swift", marks=pytest.mark.slow), "localcloud"],
)
def target(request: pytest.FixtureRequest) -> Iterator[ObjectStoreTarget]:
    """A fresh per-test view of one store; its containers are deleted after the test."""
    store: ObjectStoreTarget = request.getfixturevalue(f"{request.param}_store")
    view = ObjectStoreTarget(
        name=store.name,
        root_url=store.root_url,
        max_file_size=store.max_file_size,
        login=store.login,
        a=store.a,
        b=store.b,
        empty=store.empty,
    )
    yield view
    view.cleanup()
