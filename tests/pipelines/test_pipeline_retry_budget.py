"""The retry policy holds end to end: one place retries, and never beyond its budget.

A fault storm on one logical step (every answer a 503) is met with exactly the
stated number of attempts (``RetryPolicy().attempts``) and then a clear error:
no Prefect task retry, no outer loop, multiplies it.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest
from prefect import Task

import cloudimages.steps
from cloudimages.client import RetryPolicy
from cloudimages.client.imagetasks import MAX_MISSED_POLLS
from cloudimages.errors import ServiceUnavailable, TaskTimedOut
from tests.helpers.diskimages import make_qcow2
from tests.pipelines.support import Faults, export_image, import_image

BUDGET = RetryPolicy().attempts


def fired(faults: Faults, rule: dict[str, object]) -> int:
    found = next(r for r in faults.state()["faults"] if r["id"] == rule["id"])
    return int(found["fired"])


def test_no_step_retries_on_its_own() -> None:
    """Every Prefect task of the pipelines has retries=0: the client is the one place."""
    steps: list[Task[..., object]] = []
    for module in pkgutil.iter_modules(cloudimages.steps.__path__):
        loaded = importlib.import_module(f"cloudimages.steps.{module.name}")
        steps += [v for v in vars(loaded).values() if isinstance(v, Task)]
    assert len(steps) > 20
    assert {step.name: step.retries for step in steps if step.retries} == {}


def test_a_503_storm_on_one_call_costs_exactly_its_budget(tmp_path: Path, faults: Faults) -> None:
    """GET image answers 503 forever: the export tries it BUDGET times, then fails clearly."""
    imported = import_image(str(make_qcow2(tmp_path, "storm.qcow2")), "alice", "storm")
    rule = faults.add(
        service="images:DFW", method="GET", path=f"/v2/images/{imported.image_id}", status=503
    )

    with pytest.raises(ServiceUnavailable, match="503"):
        export_image(imported.image_id, "alice", "storm-exports")

    assert fired(faults, rule) == BUDGET


def test_a_storm_on_segment_uploads_is_retried_per_segment_within_budget(
    tmp_path: Path, faults: Faults
) -> None:
    """Every segment PUT fails: each segment is tried at most BUDGET times, then the step fails."""
    rule = faults.add(service="files:DFW", method="PUT", path="*_segments/*", status=503)
    source = make_qcow2(tmp_path, "storm-segments.qcow2")
    converted_segments = 5  # the 4 MiB VHD of this qcow2, in 1 MiB segments

    with pytest.raises(ServiceUnavailable):
        import_image(str(source), "alice", "storm-segments", segment_size_mb=1)

    assert BUDGET <= fired(faults, rule) <= BUDGET * converted_segments


def test_polls_that_keep_failing_end_the_wait_after_the_missed_poll_budget(
    tmp_path: Path, faults: Faults
) -> None:
    """Every poll of the task fails: the wait gives up after MAX_MISSED_POLLS, naming it."""
    faults.task_outcome(task_type="import", outcome="stuck", times=1)
    rule = faults.add(service="images:DFW", method="GET", path="/v2/tasks/*", status=503)

    with pytest.raises((ServiceUnavailable, TaskTimedOut)):
        import_image(str(make_qcow2(tmp_path, "storm-polls.qcow2")), "alice", "storm-polls")

    assert fired(faults, rule) <= MAX_MISSED_POLLS
