"""Session servers for the images suite and the parametrised ``image_target`` fixture.

Every test that takes ``image_target`` runs three times: against a real Glance 33 (marked
``slow``), against the local cloud's Rackspace region and against the local cloud's
upstream-OpenStack region (Keystone v3 tokens, Glance 33 dialect), both from the
``local_cloud`` fixture of conftest.py.  The Glance server is cached on the pytest config,
so it starts once per session even when these fixtures are imported into several test
modules (``from images_fixtures import *``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from images_targets import (
    IMPORT_CONTAINER,
    ImagesAccount,
    ImagesTarget,
    glance_create,
    glance_importer,
    localcloud_import,
    localcloud_start_import,
    unique,
)
from realglance import RealGlance, default_cache_dir, ensure_glance_installed
from targets_files import FileServer

__all__ = [
    "glance_images",
    "image_target",
    "localcloud_images",
    "openstack_images",
    "real_glance",
]

GLANCE_PROJECTS = {"owner": "p-owner", "consumer": "p-consumer", "stranger": "p-stranger"}
LOCALCLOUD_USERS = {"owner": "alice", "consumer": "bob", "stranger": "carol"}
REGION = "DFW"  # carol's default region is IAD; everyone works in DFW
JSON = {"Accept": "application/json"}  # error bodies as JSON on both targets
_GLANCE_KEY = pytest.StashKey[RealGlance]()


@pytest.fixture(scope="session")
def real_glance(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> RealGlance:
    """A real Glance 33.0.0 on 127.0.0.1, started once per session."""
    config = request.config
    if _GLANCE_KEY not in config.stash:
        venv = ensure_glance_installed(default_cache_dir())
        workdir = tmp_path_factory.mktemp("glance")
        glance = RealGlance(venv, workdir, serve_dir=workdir / "serve").start()
        config.stash[_GLANCE_KEY] = glance
        config.add_cleanup(glance.stop)
    return config.stash[_GLANCE_KEY]


def glance_account(project: str, roles: str = "member,reader") -> ImagesAccount:
    """Header-trusting auth; non-admin by default (an admin sees every project's images)."""
    return ImagesAccount(project, {**RealGlance.headers(project, roles=roles), **JSON})


@pytest.fixture(scope="session")
def glance_images(real_glance: RealGlance) -> ImagesTarget:
    """Three non-admin projects of the real Glance and one public image made by an admin."""
    accounts = {role: glance_account(project) for role, project in GLANCE_PROJECTS.items()}
    assert real_glance.serve_dir is not None
    target = ImagesTarget(
        "glance",
        real_glance.url,
        public_image="",
        creator=glance_create,
        importer=glance_importer(real_glance.serve_dir, real_glance.file_url),
        admin=glance_account(GLANCE_PROJECTS["owner"], roles="admin,member,reader"),
        **accounts,
    )
    admin = glance_account("p-admin", roles="admin,member,reader")
    target.public_image = glance_create(target, admin, unique("public"))
    resp = target.patch(
        admin, target.public_image, [{"op": "replace", "path": "/visibility", "value": "public"}]
    )
    assert resp.status_code == 200, resp.text
    return target


def localcloud_login(identity_url: str, username: str) -> tuple[ImagesAccount, str]:
    """Identity v2.0 API-key login: the account and its REGION Cloud Images URL."""
    creds = {"username": username, "apiKey": f"{username}-api-key"}
    body = {"auth": {"RAX-KSKEY:apiKeyCredentials": creds}}
    resp = httpx.post(f"{identity_url}/tokens", json=body, timeout=30)
    assert resp.status_code == 200, resp.text
    access = resp.json()["access"]
    urls = {
        service["type"]: endpoint["publicURL"]
        for service in access["serviceCatalog"]
        for endpoint in service["endpoints"]
        if endpoint.get("region") == REGION
    }
    headers = {"X-Auth-Token": access["token"]["id"], **JSON}
    account = ImagesAccount(access["token"]["tenant"]["id"], headers, urls["object-store"])
    return account, urls["image"].removesuffix("/v2")


@pytest.fixture(scope="session")
def localcloud_images(local_cloud: Any, localcloud_store: Any) -> Iterator[ImagesTarget]:
    """alice (owner), bob (consumer) and carol (stranger) in the local cloud's DFW.

    Depends on ``localcloud_store`` so it is torn down first: its upload container is
    gone before the object-store suite checks for leftover containers.
    """
    logins = {
        role: localcloud_login(local_cloud.identity_url, u) for role, u in LOCALCLOUD_USERS.items()
    }
    accounts = {role: account for role, (account, _) in logins.items()}
    url = logins["owner"][1]
    target = ImagesTarget(
        "localcloud",
        url,
        public_image="",
        creator=localcloud_import,
        importer=localcloud_start_import,
        **accounts,
    )
    target.public_image = target.listing(target.stranger, visibility="public")[0]
    yield target
    for account in accounts.values():
        _remove_upload_container(account)


def _remove_upload_container(account: ImagesAccount) -> None:
    """Delete the uploads made to import images, so the object-store suite sees no leftovers."""
    auth = {"X-Auth-Token": account.headers["X-Auth-Token"]}
    container = f"{account.storage_url}/{IMPORT_CONTAINER}"
    listing = httpx.get(container, headers=auth, params={"format": "json"}, timeout=30)
    if listing.status_code != 200:
        return
    for entry in listing.json():
        httpx.delete(f"{container}/{entry['name']}", headers=auth, timeout=30)
    httpx.delete(container, headers=auth, timeout=30)


def openstack_login(auth_url: str, user: str, project: str) -> ImagesAccount:
    """Keystone v3 password login into ``project``; the account is that project."""
    ident = {"user": {"name": user, "domain": {"id": "default"}, "password": f"{user}-password"}}
    scope = {"project": {"name": project, "domain": {"id": "default"}}}
    body = {"auth": {"identity": {"methods": ["password"], "password": ident}, "scope": scope}}
    resp = httpx.post(f"{auth_url}/auth/tokens", json=body, timeout=30)
    assert resp.status_code == 201, resp.text
    token = resp.json()["token"]
    headers = {"X-Auth-Token": resp.headers["X-Subject-Token"], **JSON}
    return ImagesAccount(token["project"]["id"], headers)


@pytest.fixture(scope="session")
def openstack_images(local_cloud: Any, local_files: FileServer) -> ImagesTarget:
    """user1/demo1 (owner), user2/demo2 (consumer), user3/demo3 (stranger) in RegionOne.

    ``taskadmin`` holds the admin role on demo1 (tasks need it, as on Glance); the public
    image is made by ``admin``, since only an admin may publish on Glance 33.
    """
    auth_url = local_cloud.keystone_url
    accounts = {
        role: openstack_login(auth_url, f"user{n}", f"demo{n}")
        for n, role in enumerate(("owner", "consumer", "stranger"), start=1)
    }
    url = next(e.image_url for e in local_cloud.services.keystone.views.endpoints)
    target = ImagesTarget(
        "openstack",
        url,
        public_image="",
        creator=glance_create,
        importer=glance_importer(local_files.root, local_files.url),
        admin=openstack_login(auth_url, "taskadmin", "demo1"),
        **accounts,
    )
    admin = openstack_login(auth_url, "admin", "admin")
    target.public_image = glance_create(target, admin, unique("public"))
    resp = target.patch(
        admin, target.public_image, [{"op": "replace", "path": "/visibility", "value": "public"}]
    )
    assert resp.status_code == 200, resp.text
    return target


@pytest.fixture(params=[pytest.param("glance", marks=pytest.mark.slow), "localcloud", "openstack"])
def image_target(request: pytest.FixtureRequest) -> Iterator[ImagesTarget]:
    """A fresh per-test view of one images service; its images are deleted after the test."""
    view: ImagesTarget = request.getfixturevalue(f"{request.param}_images").view()
    yield view
    view.cleanup()
