"""One real deployment for the whole e2e session, as an operator would run it.

A ``prefect server start`` (SQLite, its own PREFECT_HOME) on 127.0.0.1, the local
cloud as a server process, account blocks saved with ``cloudimages accounts add``,
the ``cloudimages`` process work pool, ``prefect deploy`` from
``deployments/prefect.yaml`` and two process workers. Everything is a subprocess
in its own process group, stopped by PID at the end of the session.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.harness import (
    BIN,
    PREFECT,
    Proc,
    clean_environ,
    free_port,
    group_members,
    http_ok,
    run,
    run_all,
    timed,
    wait_for,
)
from tests.e2e.prefect_api import PrefectApi
from tests.helpers.diskimages import make_qcow2
from tests.helpers.identity import Session, login

POOL = "cloudimages"
WORKER_LIMIT = 5
#: Account blocks the e2e deployment uses, and the local-cloud users behind them.
ACCOUNTS = {"e2e-alice": "alice", "e2e-bob": "bob", "e2e-carol": "carol", "e2e-dave": "dave"}
#: The image the UI-started import makes; other tests replicate it.
UI_IMAGE = "e2e-ui"
NIGHTLY_TAG = "e2e-nightly"


@dataclass
class LocalCloudServer:
    """The local cloud running as ``cloudimages localcloud serve``."""

    identity_url: str
    proc: Proc

    def login(self, username: str) -> Session:
        return login(self.identity_url, username, f"{username}-api-key")

    def images(self, username: str, **params: str) -> list[dict[str, object]]:
        """The images ``username`` sees in DFW, as the Cloud Images API lists them."""
        session = self.login(username)
        url = f"{session.endpoint('image', 'DFW')}/images"
        response = httpx.get(url, params=params, headers=session.headers, timeout=30)
        response.raise_for_status()
        found: list[dict[str, object]] = response.json()["images"]
        return found

    def add_fault(self, rule: dict[str, object]) -> str:
        admin = self.login("admin")
        url = f"{self.identity_url.removesuffix('/v2.0')}/admin/faults"
        response = httpx.post(url, json=rule, headers=admin.headers, timeout=30)
        response.raise_for_status()
        return str(response.json()["id"])

    def add_task_outcome(self, outcome: dict[str, object]) -> str:
        admin = self.login("admin")
        url = f"{self.identity_url.removesuffix('/v2.0')}/admin/faults/tasks"
        response = httpx.post(url, json=outcome, headers=admin.headers, timeout=30)
        response.raise_for_status()
        return str(response.json()["id"])

    def remove_fault(self, fault_id: str) -> None:
        admin = self.login("admin")
        url = f"{self.identity_url.removesuffix('/v2.0')}/admin/faults/{fault_id}"
        httpx.delete(url, headers=admin.headers, timeout=30).raise_for_status()


@dataclass
class Deployment:
    """The running e2e deployment: what tests drive and inspect."""

    api: PrefectApi
    env: dict[str, str]
    cloud: LocalCloudServer
    logs: Path
    workers: list[Proc] = field(default_factory=list)

    def prefect(self, *args: str, timeout: float = 180) -> str:
        return run([PREFECT, *args], env=self.env, timeout=timeout).stdout


def stop_all(*procs: Proc) -> None:
    """Stop each process group, then check that none of its processes is left."""
    for proc in procs:
        proc.stop()
    left = {proc.name: group_members(proc.pid) for proc in procs}
    assert not any(left.values()), f"processes left behind: {left}"


@pytest.fixture(scope="session")
def e2e_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def prefect_env(e2e_dir: Path) -> dict[str, str]:
    """The environment of every Prefect process: server, CLI, workers and flow runs."""
    api_url = f"http://127.0.0.1:{free_port()}/api"
    return clean_environ() | {
        "PREFECT_HOME": str(e2e_dir / "prefect-home"),
        "PREFECT_API_URL": api_url,  # the UI reads it from the server's environment too
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5",
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
        "PREFECT_CLI_WRAP_LINES": "false",
        "PREFECT_LOGGING_LEVEL": "INFO",
    }


@pytest.fixture(scope="session")
def prefect_server(prefect_env: dict[str, str], e2e_dir: Path) -> Iterator[PrefectApi]:
    port = prefect_env["PREFECT_API_URL"].rsplit(":", 1)[1].split("/")[0]
    args = [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", port, "--analytics-off"]
    server = Proc("prefect-server", args, env=prefect_env, log_dir=e2e_dir)
    api = PrefectApi(prefect_env["PREFECT_API_URL"])

    def healthy() -> bool | None:
        server.expect_alive()
        return http_ok(f"{api.url}/health")

    try:
        with timed("prefect server start", e2e_dir / "timings.txt"):
            wait_for("the Prefect server", healthy, timeout=120)
        yield api
    finally:
        stop_all(server)


@pytest.fixture(scope="session")
def local_cloud(e2e_dir: Path) -> Iterator[LocalCloudServer]:
    args = [
        sys.executable, "-m", "cloudimages.cli", "localcloud", "serve",
        "--port", "0", "--data-dir", str(e2e_dir / "localcloud"),
        "--account", "dave:dave-api-key:DFW",
    ]  # fmt: skip
    proc = Proc("localcloud", args, env=clean_environ(), log_dir=e2e_dir)
    try:
        found = proc.wait_for_output(r"Identity\s+(http://\S+/v2\.0)", timeout=60)
        yield LocalCloudServer(found.group(1), proc)
    finally:
        stop_all(proc)


def add_account(block: str, username: str, identity_url: str) -> list[str]:
    """``cloudimages accounts add``, as a user saves a local-cloud account."""
    return [
        str(BIN / "cloudimages"), "accounts", "add", block,
        "--username", username, "--identity-url", identity_url,
        "--api-key", f"{username}-api-key", "--overwrite",
    ]  # fmt: skip


def deploy_command() -> list[str]:
    """``prefect deploy --all`` from the repository root, as the README says."""
    return [PREFECT, "--no-prompt", "deploy", "--all", "--prefect-file", "deployments/prefect.yaml"]


def worker_args(name: str) -> list[str]:
    limit = str(WORKER_LIMIT)
    return [PREFECT, "worker", "start", "--pool", POOL, "--name", name, "--limit", limit]


@pytest.fixture(scope="session")
def deployment(
    prefect_server: PrefectApi,
    prefect_env: dict[str, str],
    local_cloud: LocalCloudServer,
    e2e_dir: Path,
) -> Iterator[Deployment]:
    """Blocks, the work pool, ``prefect deploy`` and two process workers.

    Independent steps run at once: each costs a Python start and ``import
    prefect`` (1–3 s on two cores), which would otherwise add up.
    """
    timings = e2e_dir / "timings.txt"
    env = prefect_env
    with timed("account blocks and work pool", timings):
        pool = [PREFECT, "work-pool", "create", POOL, "--type", "process"]
        blocks = [add_account(b, u, local_cloud.identity_url) for b, u in ACCOUNTS.items()]
        run_all([pool, *blocks], env=env)
    workers: list[Proc] = []
    try:
        with timed("prefect deploy and two workers", timings):
            workers += [
                Proc(f"worker-{n}", worker_args(f"e2e-worker-{n}"), env=env, log_dir=e2e_dir)
                for n in (1, 2)
            ]
            run_all([deploy_command()], env=env, timeout=180)
            for worker in workers:
                worker.wait_for_output(r"started!", timeout=90)
        yield Deployment(prefect_server, env, local_cloud, e2e_dir, workers)
    finally:
        stop_all(*workers)


@pytest.fixture(scope="session")
def ui_import(deployment: Deployment, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An import started with the UI's REST call (tagged for the nightly), run to its end."""
    source = make_qcow2(tmp_path_factory.mktemp("ui-import"), "ui.qcow2")
    target = deployment.api.deployment("import-image", "import")
    request = {"source": str(source), "account": "e2e-alice", "name": UI_IMAGE}
    run = deployment.api.create_flow_run_like_the_ui(
        target["id"], {"request": request | {"tags": [NIGHTLY_TAG]}}
    )
    with timed("import started with the UI's REST call", deployment.logs / "timings.txt"):
        return deployment.api.wait_final(run["id"], timeout=180)
