"""One Prefect test harness and one local cloud for every pipeline test, with saved blocks.

Prefect settings go into the environment before Prefect is imported (prefect-notes
§7): a temporary PREFECT_HOME, the task-run recorder batch of 100 (G1: no SQLite
lock 503s), a 90 s server start-up timeout; the flow heartbeat is turned off for
the session (G2). Blocks ``alice``, ``bob`` and ``carol`` point at the local cloud.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

_PREFECT_HOME = tempfile.mkdtemp(prefix="cloudimages-prefect-home-")
_WORK_DIR = tempfile.mkdtemp(prefix="cloudimages-work-")
atexit.register(shutil.rmtree, _PREFECT_HOME, True)
atexit.register(shutil.rmtree, _WORK_DIR, True)
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "90"
os.environ["PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE"] = "100"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ["CLOUDIMAGES_WORK_DIR"] = _WORK_DIR

import http.server  # noqa: E402  (Prefect reads the settings above when imported)
import threading  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from prefect.settings import (  # noqa: E402
    PREFECT_API_URL,
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
    PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE,
    temporary_settings,
)
from prefect.testing.utilities import prefect_test_harness  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from cloudimages.blocks import CloudImagesAccount, OpenStackAccount, clear_sessions  # noqa: E402
from cloudimages.localcloud import LocalCloud, LocalCloudSettings  # noqa: E402
from cloudimages.localcloud.settings import OpenStackRegionSpec  # noqa: E402
from cloudimages.steps import set_testing  # noqa: E402
from tests.helpers.openstack import RealOpenStack, real_openstack  # noqa: E402, F401
from tests.pipelines.support import Faults  # noqa: E402

ACCOUNTS = {
    "alice": ("alice", "alice-api-key", "DFW"),
    "bob": ("bob", "bob-api-key", "DFW"),
    "carol": ("carol", "carol-api-key", "IAD"),
    "alice-bad-key": ("alice", "not-alices-key", "DFW"),
}


@pytest.fixture(scope="session", autouse=True)
def prefect_api() -> Iterator[str]:
    """The harness's API URL; every flow of this folder runs against it."""
    set_testing(True)
    with (
        temporary_settings({PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE: 100}),
        prefect_test_harness(server_startup_timeout=90),
        temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        yield str(PREFECT_API_URL.value())
    set_testing(False)
    clear_sessions()


#: OpenStack account blocks (Keystone v3 users of the local cloud) -> (user, project, region).
OPENSTACK_ACCOUNTS = {
    "os-user1": ("user1", "demo1", "RegionOne"),
    "os-user2": ("user2", "demo2", "RegionOne"),
    "os-strict": ("user1", "demo1", "RegionTwo"),
    "os-reader": ("reader1", "demo1", "RegionOne"),
    "os-web": ("user1", "demo1", "RegionWeb"),
}
#: RegionTwo is a strict private cloud: raw and qcow2 only, glance-direct only, 4 MiB quota.
STRICT_REGION = OpenStackRegionSpec(
    name="RegionTwo",
    disk_formats=("raw", "qcow2"),
    import_methods=("glance-direct",),
    storage_quota=4 * 1024 * 1024,
)
#: RegionWeb enables web-download only: glance-direct must be refused, uploads still work.
WEB_ONLY_REGION = OpenStackRegionSpec(name="RegionWeb", import_methods=("web-download",))


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    settings = LocalCloudSettings(
        data_dir=tmp_path_factory.mktemp("localcloud"),
        openstack_regions=(OpenStackRegionSpec(name="RegionOne"), STRICT_REGION, WEB_ONLY_REGION),
    )
    with LocalCloud(settings) as running:
        yield running


@pytest.fixture(scope="session", autouse=True)
def blocks(prefect_api: str, cloud: LocalCloud) -> dict[str, str]:
    """Saved account blocks, by name: alice, bob, carol (and alice with a wrong key)."""
    for block_name, (username, key, region) in ACCOUNTS.items():
        CloudImagesAccount(
            username=username,
            api_key=SecretStr(key),
            region=region,
            identity_url=cloud.identity_url,
        ).save(block_name, overwrite=True)
    for block_name, (user, project, region) in OPENSTACK_ACCOUNTS.items():
        OpenStackAccount(
            auth_url=cloud.keystone_url,
            username=user,
            password=SecretStr(f"{user}-password"),
            project_name=project,
            region=region,
        ).save(block_name, overwrite=True)
    OpenStackAccount(
        auth_url=cloud.keystone_url,
        username="user1",
        password=SecretStr("user1-password"),
        project_name="demo1",
        region="RegionWeb",
        import_method="glance-direct",
    ).save("os-web-direct", overwrite=True)
    return {name: spec[0] for name, spec in ACCOUNTS.items()}


@pytest.fixture
def faults(cloud: LocalCloud) -> Iterator[Faults]:
    injector = Faults(cloud)
    injector.clear()
    yield injector
    injector.clear()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def http_files(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over http on 127.0.0.1 (stdlib http.server in a thread), and its URL."""
    served = tmp_path / "served"
    served.mkdir()
    handler = partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def real_openstack_blocks(request: pytest.FixtureRequest) -> dict[str, str]:
    """Account blocks of the real OpenStack: user1/demo1 and user2/demo2 in RegionOne, and
    user1's application credential (block name -> user)."""
    real: RealOpenStack = request.getfixturevalue("real_openstack")
    for user in ("user1", "user2"):
        OpenStackAccount(
            auth_url=real.auth_url,
            username=user,
            password=SecretStr(f"{user}-password"),
            project_name=user.replace("user", "demo"),
            region="RegionOne",
        ).save(f"real-{user}", overwrite=True)
    credential = real.app_credential
    OpenStackAccount(
        auth_url=real.auth_url,
        application_credential_id=credential["id"],
        application_credential_secret=SecretStr(credential["secret"]),
        region="RegionOne",
    ).save("real-appcred", overwrite=True)
    return {"real-user1": "user1", "real-user2": "user2", "real-appcred": "user1"}
