"""The three ways people start the pipelines, against a real server and workers.

From the CLI (``prefect deployment run``), from the UI (the REST call its Run
button makes) and from a schedule; each time the result is checked where it
matters: in the local cloud, over its HTTP API.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import NIGHTLY_TAG, UI_IMAGE, Deployment
from tests.e2e.harness import wait_for
from tests.e2e.prefect_api import describe
from tests.helpers.diskimages import make_qcow2

pytestmark = pytest.mark.slow


def test_cli_run_imports_an_image(deployment: Deployment, tmp_path: Path) -> None:
    """`prefect deployment run import-image/import --watch` ends Completed with an active image."""
    source = make_qcow2(tmp_path, "cli.qcow2")
    out = deployment.prefect(
        "deployment", "run", "import-image/import",
        "--param", "request=" + json.dumps(
            {"source": str(source), "account": "e2e-alice", "name": "e2e-cli"}
        ),
        "--watch", "--watch-interval", "1",
    )  # fmt: skip
    assert "Completed" in out, out
    images = deployment.cloud.images("alice", name="e2e-cli")
    assert [image["status"] for image in images] == ["active"]
    assert images[0]["cloudimages.source_name"] == "cli.qcow2"


def test_ui_run_imports_a_tagged_image(deployment: Deployment, ui_import: dict[str, Any]) -> None:
    """The UI's `create_flow_run` call, with the form's parameters, runs on a worker."""
    assert ui_import["state_type"] == "COMPLETED", describe(deployment.api, ui_import)
    images = deployment.cloud.images("alice", name=UI_IMAGE)
    assert [image["status"] for image in images] == ["active"]
    assert NIGHTLY_TAG in images[0]["tags"]  # type: ignore[operator]


def test_schedule_replicates_tagged_images(
    deployment: Deployment, ui_import: dict[str, Any]
) -> None:
    """A schedule on replicate-tagged/nightly fires; bob then sees the tagged image."""
    assert ui_import["state_type"] == "COMPLETED", describe(deployment.api, ui_import)
    image_id = deployment.cloud.images("alice", name=UI_IMAGE)[0]["id"]
    nightly = deployment.api.deployment("replicate-tagged", "nightly")
    assert [s["schedule"].get("cron") for s in nightly["schedules"]] == ["0 2 * * *"]
    first = datetime.now(UTC) + timedelta(seconds=8)
    schedule = {
        "schedule": {"interval": 30 * 86400, "anchor_date": first.isoformat(), "timezone": "UTC"},
        "active": True,
        "parameters": {
            "request": {"tag": NIGHTLY_TAG, "source": "e2e-alice", "targets": ["e2e-bob"]}
        },
    }
    added = deployment.api.call("POST", f"/deployments/{nightly['id']}/schedules", json=[schedule])
    try:

        def scheduled_run() -> dict[str, Any] | None:
            runs = deployment.api.flow_runs(nightly["id"])
            due = [
                r
                for r in runs
                if r["auto_scheduled"]
                and datetime.fromisoformat(r["expected_start_time"]) < first + timedelta(minutes=1)
            ]
            return due[0] if due else None

        run = wait_for("a scheduled replicate-tagged run", scheduled_run, timeout=60)
        done = deployment.api.wait_final(run["id"], timeout=180)
    finally:
        deployment.api.call("DELETE", f"/deployments/{nightly['id']}/schedules/{added[0]['id']}")
    assert done["state_type"] == "COMPLETED", describe(deployment.api, done)
    assert done["parameters"]["request"]["targets"] == ["e2e-bob"]
    shared = deployment.cloud.images("bob", visibility="shared", member_status="accepted")
    assert image_id in [image["id"] for image in shared]
