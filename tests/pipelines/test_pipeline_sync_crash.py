"""A sync killed at a random step, then run again: it converges, with no duplicates and no
staged data or work files left behind.

The step is drawn from a seeded generator (``CLOUDIMAGES_SYNC_KILL_SEED`` replays
one; the seed is in every failure message): while segments are being staged, once
an import task exists, once the first image is made, or after a random delay.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from cloudimages.steps.sources import work_dir
from tests.helpers.diskimages import make_qcow2
from tests.pipelines.support import Faults, block
from tests.pipelines.sync_support import (
    STAGING,
    TARGET_KEYS,
    TARGETS,
    managed,
    sha256_of,
    staged_leftovers,
    sync,
    write_spec,
)

SCRIPT = Path(__file__).with_name("_crash_sync.py")
SEED = int(os.environ.get("CLOUDIMAGES_SYNC_KILL_SEED", str(time.time_ns() % 100_000)))


def segments_staged() -> bool:
    return any(staged_leftovers(account, region) for account, region in TARGET_KEYS)


def import_started() -> bool:
    for account, region in TARGET_KEYS:
        images = block(account).images_client(region)
        for task in images.list_tasks():
            found = images.get_task(task.id).input or {}
            if str(found.get("import_from", "")).startswith(f"{STAGING}/sync-crash-"):
                return True
    return False


def image_made() -> bool:
    return any(managed(account, region, "crash") for account, region in TARGET_KEYS)


def wait_then_kill(child: subprocess.Popen[bytes], rng: random.Random) -> str:
    """Wait for a randomly chosen step of the run, then SIGKILL it; which step it was."""
    steps: dict[str, Callable[[], bool]] = {
        "staging": segments_staged,
        "import task": import_started,
        "first image": image_made,
    }
    chosen = rng.choice([*steps, "delay"])
    check = steps.get(chosen)
    deadline = time.monotonic() + (90 if check else rng.uniform(2.0, 12.0))
    while time.monotonic() < deadline and child.poll() is None:
        if check is not None and check():
            break
        time.sleep(0.05)
    child.kill()
    child.wait(timeout=30)
    return chosen


def test_a_killed_sync_converges_when_run_again(
    prefect_api: str, tmp_path: Path, faults: Faults
) -> None:
    """Kill the apply at a random step; the rerun leaves one image per version and target."""
    rng = random.Random(SEED)
    disks = [make_qcow2(tmp_path, f"crash-{n}.qcow2") for n in ("a", "b")]
    images = [
        {"name": f"crash-{n}", "version": "1", "source": {"file": d.name}, "checksum": sha256_of(d)}
        for n, d in zip("ab", disks, strict=True)
    ]
    spec = write_spec(
        tmp_path / "crash.yaml",
        {"catalog": "crash", "targets": TARGETS, "shares": [{"account": "bob"}], "images": images},
    )
    faults.add(service="files:*", method="PUT", path="*_segments/*", action="latency", delay=0.2)
    env = {**os.environ, "PREFECT_API_URL": prefect_api}
    with (tmp_path / "child.log").open("wb") as log:
        child = subprocess.Popen(
            [sys.executable, str(SCRIPT), str(spec), "1"], env=env, stdout=log, stderr=log
        )
        try:
            step = wait_then_kill(child, rng)
        finally:
            if child.poll() is None:
                child.kill()
    faults.clear()
    said = f"(seed {SEED}, killed at: {step})"

    report = sync(spec)

    assert report.failed == 0, said
    for account, region in TARGET_KEYS:
        found = sorted(i.name or "" for i in managed(account, region, "crash"))
        assert found == ["crash-a 1", "crash-b 1"], f"{account}/{region} {said}"
        assert staged_leftovers(account, region) == [], f"{account}/{region} {said}"
    leftovers = [
        p.name for p in work_dir().glob("*") if p.name.startswith(tuple(map(sha256_of, disks)))
    ]
    assert leftovers == [], said
    assert sync(spec, mode="plan").changes == 0, said
