"""The Prefect server's REST API, called the way the UI calls it (plain HTTP, no Prefect client)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from tests.e2e.harness import wait_for

FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
RETRIES_ON_503 = 6


@dataclass
class PrefectApi:
    """``http://127.0.0.1:<port>/api`` of the e2e Prefect server."""

    url: str

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call; a 503 (SQLite busy, see G1) is retried as Prefect's own client does."""
        for attempt in range(RETRIES_ON_503):
            response = httpx.request(method, f"{self.url}{path}", timeout=30, **kwargs)
            if response.status_code != 503 or attempt == RETRIES_ON_503 - 1:
                break
            time.sleep(0.5 * 2**attempt)
        response.raise_for_status()
        return response.json() if response.content else None

    def deployment(self, flow: str, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.call("GET", f"/deployments/name/{flow}/{name}")
        return found

    def create_flow_run_like_the_ui(
        self, deployment_id: str, parameters: dict[str, Any]
    ) -> dict[str, Any]:
        """What the UI's Run > Custom run sends (prefect-ui-library ``createDeploymentFlowRun``).

        The UI maps ``{state: {type: 'scheduled', message: 'Run from the Prefect UI'},
        parameters, enforceParameterSchema}`` to this body and POSTs it to
        ``/deployments/{id}/create_flow_run``.
        """
        body = {
            "state": {
                "type": "SCHEDULED",
                "message": "Run from the Prefect UI",
                "state_details": {},
            },
            "parameters": parameters,
            "enforce_parameter_schema": True,
        }
        run: dict[str, Any] = self.call(
            "POST", f"/deployments/{deployment_id}/create_flow_run", json=body
        )
        return run

    def flow_run(self, run_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.call("GET", f"/flow_runs/{run_id}")
        return found

    def wait_final(self, run_id: str, *, timeout: float = 120) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            run = self.flow_run(run_id)
            return run if run["state_type"] in FINAL else None

        return wait_for(f"flow run {run_id} to finish", check, timeout=timeout, every=1)

    def flow_runs(self, deployment_id: str) -> list[dict[str, Any]]:
        body = {"deployments": {"id": {"any_": [deployment_id]}}, "sort": "START_TIME_ASC"}
        found: list[dict[str, Any]] = self.call("POST", "/flow_runs/filter", json=body)
        return found

    def logs(self, run_id: str) -> str:
        body = {"logs": {"flow_run_id": {"any_": [run_id]}}, "sort": "TIMESTAMP_ASC"}
        entries = self.call("POST", "/logs/filter", json=body)
        return "\n".join(f"{e['level']} {e['message']}" for e in entries)

    def global_limit(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.call("GET", f"/v2/concurrency_limits/{name}")
        return found

    def events(self, prefix: str, since: datetime) -> list[dict[str, Any]]:
        """Every event whose name starts with ``prefix`` since ``since``, oldest first."""
        body = {
            "filter": {
                "event": {"prefix": [prefix]},
                "occurred": {"since": since.isoformat()},
                "order": "ASC",
            },
            "limit": 50,
        }
        page = self.call("POST", "/events/filter", json=body)
        events: list[dict[str, Any]] = page["events"]
        while page.get("next_page"):
            response = httpx.get(page["next_page"], timeout=30)
            response.raise_for_status()
            page = response.json()
            events += page["events"]
        return events


def describe(api: PrefectApi, run: dict[str, Any]) -> str:
    """A failed run as text: its state message and its logs, for assertion messages."""
    return f"{run['name']}: {run['state_type']} {run['state']['message']}\n{api.logs(run['id'])}"


def seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def sleep_until(when: float) -> None:
    time.sleep(max(0.0, when - time.time()))
