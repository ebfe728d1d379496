"""`cloudimages demo`: the whole story on an embedded local cloud, every step verified."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .helpers import Cli, describe

STEPS = [
    "start the local cloud",
    "make a disk image with qemu-img",
    "connect to Prefect",
    "save account blocks",
    "import into alice (DFW)",
    "share with bob, accepted",
    "replicate a copy to carol (IAD)",
    "migrate to the private cloud (RegionOne)",
    "export from alice, download and compare",
]


def check_report(report: dict[str, Any]) -> None:
    assert report["ok"] is True
    assert report["error"] is None
    assert [s["name"] for s in report["steps"]] == STEPS
    assert all(s["ok"] for s in report["steps"])
    image_id = report["image_id"]
    assert report["reports"]["import"]["image_id"] == image_id
    [consumer] = report["reports"]["share"]["consumers"]
    assert (consumer["account"], consumer["status"]) == ("demo-bob", "accepted")
    [target] = report["reports"]["replicate"]["targets"]
    assert (target["account"], target["region"], target["mode"]) == ("demo-carol", "IAD", "copy")
    assert target["image_id"] not in (None, image_id)
    assert report["reports"]["export"]["compared"] is True
    [moved] = report["reports"]["migrate"]["targets"]
    assert (moved["account"], moved["region"], moved["status"]) == (
        "demo-private",
        "RegionOne",
        "copied",
    )
    assert "qcow2" in moved["local_copy"]


def test_demo_json_against_a_prefect_server(cli: Cli, tmp_path: Path) -> None:
    """With PREFECT_API_URL set, demo --json runs every step there and exits 0."""
    result = cli.ok("demo", "--json", "--data-dir", str(tmp_path / "lc"))
    report = json.loads(result.stdout)
    check_report(report)
    assert report["prefect_api"] == cli.env["PREFECT_API_URL"]
    assert report["data_dir"] == str(tmp_path / "lc")
    assert "Traceback" not in result.stderr


def test_demo_prints_a_summary(cli: Cli) -> None:
    """Without --json: a ✓ line per step on stderr and the summary on stdout."""
    result = cli.ok("demo")
    assert "All steps verified" in result.stdout
    assert result.stderr.count("✓") == len(STEPS), describe(result)


@pytest.mark.slow
def test_demo_with_a_temporary_prefect_api(tmp_path: Path) -> None:
    """Without PREFECT_API_URL, as on a fresh machine: a temporary Prefect home and API."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CLOUDIMAGES_"))}
    env["TMPDIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "cloudimages.cli", "demo", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, describe(result)
    report = json.loads(result.stdout)
    check_report(report)
    assert report["prefect_api"] == "temporary"
    assert list(tmp_path.iterdir()) == [], "the work directory is removed without --keep"
