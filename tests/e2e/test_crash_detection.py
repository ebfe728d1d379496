"""A flow run whose process is killed ends Crashed, never Running for ever.

Under a worker, the worker sees its child die and says so. A run nobody watches (a
`cloudimages import` in a terminal, a machine that is lost with its worker) is caught by
heartbeats: the CLI and the work pool's job variables make every run send one every
30 s, and the automation `cloudimages server setup` installs marks a run Crashed when
they stop.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cloudimages.cli.crashes import AUTOMATION_NAME
from tests.e2e.conftest import Deployment
from tests.e2e.harness import BIN, run, wait_for
from tests.e2e.prefect_api import describe
from tests.helpers.diskimages import make_qcow2

pytestmark = pytest.mark.slow


def run_process(flow_run_id: str) -> int | None:
    """The pid of the process running a flow run (the worker sets its id in the environment)."""
    wanted = f"PREFECT__FLOW_RUN_ID={flow_run_id}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if wanted in environ:
            return int(entry.name)
    return None


def test_a_run_killed_under_a_worker_ends_crashed(deployment: Deployment, tmp_path: Path) -> None:
    """SIGKILL the process of a worker's run: the run ends Crashed, saying why."""
    deployment.cloud.add_task_outcome({"task_type": "import", "outcome": "stuck", "times": 1})
    source = make_qcow2(tmp_path, "crash.qcow2")
    request = {"source": str(source), "account": "e2e-alice", "name": "e2e-crashed"}
    target = deployment.api.deployment("import-image", "import")
    started = deployment.api.create_flow_run_like_the_ui(target["id"], {"request": request})

    def running_process() -> int | None:
        state = deployment.api.flow_run(started["id"])["state_type"]
        return run_process(started["id"]) if state == "RUNNING" else None

    pid = wait_for("the import's process", running_process, timeout=120)
    wait_for(  # killed while it waits for the stuck task, after at least one heartbeat
        "the wait for the import task",
        lambda: "Waiting for import task" in deployment.api.logs(started["id"]) or None,
        timeout=120,
    )
    os.kill(pid, signal.SIGKILL)
    done = deployment.api.wait_final(started["id"], timeout=240)

    assert done["state_type"] == "CRASHED", describe(deployment.api, done)
    assert "SIGKILL" in done["state"]["message"]


def running_cli_import(deployment: Deployment, name: str) -> dict[str, Any] | None:
    """The Running flow run of ``cloudimages import --name <name>``, once it exists."""
    body = {"flow_runs": {"state": {"type": {"any_": ["RUNNING"]}}}, "limit": 50}
    runs: list[dict[str, Any]] = deployment.api.call("POST", "/flow_runs/filter", json=body)
    found = [r for r in runs if r["parameters"].get("request", {}).get("name") == name]
    return found[0] if found else None


def test_a_killed_cli_run_is_marked_crashed_when_its_heartbeats_stop(
    deployment: Deployment, tmp_path: Path
) -> None:
    """SIGKILL `cloudimages import` itself: no one watches it, the heartbeat automation does."""
    setup = run([str(BIN / "cloudimages"), "server", "setup"], env=deployment.env).stdout
    assert AUTOMATION_NAME in setup
    deployment.cloud.add_task_outcome({"task_type": "import", "outcome": "stuck", "times": 1})
    source = make_qcow2(tmp_path, "cli-crash.qcow2")
    args = [str(BIN / "cloudimages"), "import", str(source), "--account", "e2e-alice"]
    command = [*args, "--name", "e2e-cli-crashed", "--json"]
    child = subprocess.Popen(command, env=deployment.env, stdout=subprocess.DEVNULL)
    try:
        flow_run = wait_for(
            "the CLI's flow run",
            lambda: running_cli_import(deployment, "e2e-cli-crashed"),
            timeout=120,
        )
        wait_for(
            "the wait for the import task",
            lambda: "Waiting for import task" in deployment.api.logs(flow_run["id"]) or None,
            timeout=120,
        )
    finally:
        child.kill()
        child.wait(timeout=30)
    done = deployment.api.wait_final(flow_run["id"], timeout=240)

    assert done["state_type"] == "CRASHED", describe(deployment.api, done)
    assert "heartbeat" in done["state"]["message"]
