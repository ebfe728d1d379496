"""The per-account limit holds across workers: 10 runs at once, at most 2 on one account.

Ten ``replicate-image`` runs share one image with the same target account
(``e2e-dave``) at the same time, on two workers that could run all ten at
once. ``ensure_account_limits`` (through ``cloudimages accounts limit``) gives
each account block a Prefect global concurrency limit of 2. The local cloud
answers image-member calls 1.5 s late, so each run holds the account's slot
for seconds. Three records are checked: the limit's ``active_slots`` polled on
the server, the ``prefect.concurrency-limit.acquired/released`` events each
run emits, and the runs' own start and end times (more than two ran at once:
the account limit, not the workers, was the bound).
"""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.conftest import ACCOUNTS, UI_IMAGE, Deployment
from tests.e2e.harness import run, wait_for
from tests.e2e.prefect_api import describe

pytestmark = pytest.mark.slow

RUNS = 10
LIMIT = 2
TARGET = "e2e-dave"
LIMIT_NAME = f"cloudimages-account-{TARGET}"
MEMBER_LATENCY = {
    "service": "images:DFW",
    "path": "/v2/images/*/members*",
    "action": "latency",
    "delay": 1.0,
}
#: Event times are taken by each run just after acquiring and just after releasing,
#: so a slot interval is seen up to one HTTP round trip late at both ends.
CLOCK_SLACK = 0.05


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """Most intervals open at one instant (an end at t is counted before a start at t)."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = current = 0
    for _, step in edges:
        current += step
        most = max(most, current)
    return most


def slot_intervals(events: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """(acquired, released) per holder, from the limit's events; released names what it follows."""
    acquired = {
        e["id"]: datetime.fromisoformat(e["occurred"]).timestamp()
        for e in events
        if e["event"] == "prefect.concurrency-limit.acquired"
    }
    return [
        (acquired[e["follows"]], datetime.fromisoformat(e["occurred"]).timestamp() - CLOCK_SLACK)
        for e in events
        if e["event"] == "prefect.concurrency-limit.released" and e.get("follows") in acquired
    ]


class SlotSampler(threading.Thread):
    """Polls the limit's active slots on the server until stopped; keeps the maximum."""

    def __init__(self, deployment: Deployment) -> None:
        super().__init__(daemon=True)
        self.api = deployment.api
        self.samples: list[int] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.samples.append(int(self.api.global_limit(LIMIT_NAME)["active_slots"]))


def test_account_limit_holds_under_ten_simultaneous_runs(
    deployment: Deployment, ui_import: dict[str, Any]
) -> None:
    """No more than 2 of 10 simultaneous runs hold e2e-dave's slot; all complete."""
    assert ui_import["state_type"] == "COMPLETED", describe(deployment.api, ui_import)
    image_id = deployment.cloud.images("alice", name=UI_IMAGE)[0]["id"]
    command = [sys.executable, "-m", "cloudimages.cli", "accounts", "limit", str(LIMIT)]
    limits = run(command, env=deployment.env).stdout
    assert sorted(limits.split("\n")[:-1]) == sorted(
        f"cloudimages-account-{block}: limit {LIMIT}" for block in ACCOUNTS
    )
    created = deployment.api.global_limit(LIMIT_NAME)
    assert (created["limit"], created["active"]) == (LIMIT, True)

    replicate = deployment.api.deployment("replicate-image", "replicate")
    request = {"image_id": image_id, "source": "e2e-alice", "targets": [TARGET], "mode": "share"}
    parameters = {"request": request}
    since = datetime.now(UTC)
    fault = deployment.cloud.add_fault(MEMBER_LATENCY)
    sampler = SlotSampler(deployment)
    sampler.start()
    try:
        runs = [
            deployment.api.create_flow_run_like_the_ui(replicate["id"], parameters)
            for _ in range(RUNS)
        ]
        finished = [deployment.api.wait_final(r["id"], timeout=240) for r in runs]
    finally:
        sampler.done.set()
        sampler.join()
        deployment.cloud.remove_fault(fault)

    failed = [describe(deployment.api, r) for r in finished if r["state_type"] != "COMPLETED"]
    assert not failed, "\n\n".join(failed)

    def all_slot_events() -> list[dict[str, Any]] | None:
        events = [
            e
            for e in deployment.api.events("prefect.concurrency-limit.", since)
            if e["resource"].get("prefect.resource.name") == LIMIT_NAME
        ]
        return events if len(events) >= 2 * RUNS else None

    events = wait_for("every run's slot events", all_slot_events, timeout=60, every=1)
    held = slot_intervals(events)
    origin = min(start for start, _ in held)
    print(
        "slot held (s from first acquisition):",
        [(round(a - origin, 2), round(b - origin, 2)) for a, b in sorted(held)],
    )
    assert len(held) == RUNS
    assert max_overlap(held) == LIMIT, held
    assert max(sampler.samples) == LIMIT, sampler.samples
    ran = [
        (datetime.fromisoformat(r["start_time"]).timestamp(),
         datetime.fromisoformat(r["end_time"]).timestamp())
        for r in finished
    ]  # fmt: skip
    print(
        "runs (start, end):", [(round(a - origin, 2), round(b - origin, 2)) for a, b in sorted(ran)]
    )
    assert max_overlap(ran) > LIMIT, "the runs did not overlap: the limit was never tested"
