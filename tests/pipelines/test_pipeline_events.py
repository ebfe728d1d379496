"""Finished pipelines emit events that automations can react to."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from tests.helpers.diskimages import make_vhd
from tests.pipelines.support import import_image


def events_about(api_url: str, resource: str, *, wait: float = 30.0) -> list[dict[str, Any]]:
    """The events the Prefect server stored for a resource (they arrive asynchronously)."""
    body = {"filter": {"resource": {"id": [resource]}}, "limit": 50}
    deadline = time.monotonic() + wait
    while True:
        response = httpx.post(f"{api_url}/events/filter", json=body, timeout=30)
        response.raise_for_status()
        events: list[dict[str, Any]] = response.json()["events"]
        if events or time.monotonic() > deadline:
            return events
        time.sleep(0.5)


def test_an_import_emits_an_imported_event_about_the_image(
    prefect_api: str, tmp_path: Path
) -> None:
    """`cloudimages.image.imported` names the image as its resource and carries the report."""
    report = import_image(str(make_vhd(tmp_path, "dynamic", "events")), "alice", "evented")

    events = events_about(prefect_api, f"cloudimages.image.{report.image_id}")

    assert [e["event"] for e in events] == ["cloudimages.image.imported"]
    payload = events[0]["payload"]
    assert payload["image_id"] == report.image_id
    assert payload["sha256"] == report.sha256
    assert "api_key" not in str(payload)
