"""``cloudimages serve``: the deployments of prefect.yaml, served without a work pool.

The worker deployments are removed first (serving the same names does not take
them off the work pool: Prefect keeps the pool when a deployment is updated);
the served process registers the same names, runs an import started like the
UI starts one, stops on Ctrl-C, and ``prefect.yaml`` is deployed again so the
workers own the names once more.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml  # type: ignore[import-untyped]  # no stubs in the test env

from cloudimages.cli.deployments import DEPLOYMENTS
from tests.e2e.conftest import POOL, Deployment, deploy_command
from tests.e2e.harness import REPO, Proc, run_all, wait_for
from tests.e2e.prefect_api import describe
from tests.helpers.diskimages import make_qcow2

pytestmark = pytest.mark.slow

FLOWS = {
    "import": "import-image",
    "export": "export-image",
    "replicate": "replicate-image",
    "nightly": "replicate-tagged",
}


def test_prefect_yaml_and_serve_define_the_same_deployments() -> None:
    """Names, entrypoints, tags, parameters and schedules agree between the two front doors."""
    document = yaml.safe_load((REPO / "deployments" / "prefect.yaml").read_text())
    in_yaml = {
        d["name"]: (
            d["entrypoint"],
            tuple(d["tags"]),
            d["parameters"],
            [s["cron"] for s in d.get("schedules", [])],
            d["work_pool"]["name"],
        )
        for d in document["deployments"]
    }
    in_serve = {
        s.name: (s.entrypoint, s.tags, s.parameters, [s.cron] if s.cron else [], POOL)
        for s in DEPLOYMENTS
    }
    assert in_yaml == in_serve
    assert document["pull"] == [{"cloudimages.cli.deployments.use_checkout": {}}]


def served_names(deployment: Deployment) -> dict[str, Any] | None:
    """The four deployments once the served process owns them (no work pool), else None."""
    try:
        found = {name: deployment.api.deployment(flow, name) for name, flow in FLOWS.items()}
    except httpx.HTTPStatusError as err:
        if err.response.status_code == 404:
            return None
        raise
    return found if all(d["work_pool_name"] is None for d in found.values()) else None


def test_serve_runs_an_import_without_a_work_pool(deployment: Deployment, tmp_path: Path) -> None:
    """`cloudimages serve` registers the four deployments and runs an import itself."""
    # Switch over as an operator would: serving does not take a deployment off its work
    # pool (Prefect keeps the pool on update), so remove the worker deployments first.
    for name, flow in FLOWS.items():
        existing = deployment.api.deployment(flow, name)
        deployment.api.call("DELETE", f"/deployments/{existing['id']}")
    args = [sys.executable, "-m", "cloudimages.cli", "serve", "--limit", "2", "--no-schedules"]
    served = Proc("serve", args, env=deployment.env, log_dir=deployment.logs)
    try:
        found = wait_for("the served deployments", lambda: served_names(deployment), timeout=90)
        assert found["nightly"]["schedules"] == []
        source = make_qcow2(tmp_path, "served.qcow2")
        parameters = {
            "request": {"source": str(source), "account": "e2e-alice", "name": "e2e-served"}
        }
        started = deployment.api.create_flow_run_like_the_ui(found["import"]["id"], parameters)
        finished = deployment.api.wait_final(started["id"], timeout=180)
    finally:
        served.stop()
        run_all([deploy_command()], env=deployment.env, timeout=180)
    assert finished["state_type"] == "COMPLETED", describe(deployment.api, finished)
    assert finished["work_pool_name"] is None
    assert "e2e-served" in served.output() or finished["name"] in served.output()
    images = deployment.cloud.images("alice", name="e2e-served")
    assert [image["status"] for image in images] == ["active"]
    restored = deployment.api.deployment("import-image", "import")
    assert restored["work_pool_name"] == POOL
