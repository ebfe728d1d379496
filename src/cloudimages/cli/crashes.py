"""Runs that die (``kill -9``, a lost machine) end as Crashed, not Running for ever.

Every flow run sends a heartbeat event every ``HEARTBEAT_SECONDS`` (Prefect's
``PREFECT_FLOWS_HEARTBEAT_FREQUENCY``; the CLI, ``cloudimages serve`` and the
work pool's job variables set it). The automation installed here, Prefect's
documented zombie-run detector, marks a run Crashed when its heartbeats stop
for ``MISSED_BEATS`` periods without the run reaching a final state, so an
operator sees what died and reruns it (the rerun resumes).
"""

from __future__ import annotations

from datetime import timedelta

__all__ = ["AUTOMATION_NAME", "HEARTBEAT_SECONDS", "ensure_crash_detection"]

AUTOMATION_NAME = "cloudimages: crash runs whose heartbeats stopped"
HEARTBEAT_SECONDS = 30  # Prefect's minimum
MISSED_BEATS = 3
_FINAL = ("Completed", "Failed", "Cancelled", "Crashed")


def ensure_crash_detection(heartbeat_seconds: int = HEARTBEAT_SECONDS) -> str:
    """Create or update the zombie-run automation on the server in ``PREFECT_API_URL``."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    trigger = EventTrigger(
        after={"prefect.flow-run.heartbeat"},
        expect={"prefect.flow-run.heartbeat", *(f"prefect.flow-run.{s}" for s in _FINAL)},
        match={"prefect.resource.id": ["prefect.flow-run.*"]},
        for_each={"prefect.resource.id"},
        posture=Posture.Proactive,
        threshold=1,
        within=timedelta(seconds=heartbeat_seconds * MISSED_BEATS),
    )
    message = (
        f"No heartbeat for {heartbeat_seconds * MISSED_BEATS} s: the process running this flow"
        " died (killed, or its machine was lost). Rerun it; it resumes where it stopped."
    )
    action = ChangeFlowRunState(
        name="Crashed", state=StateType.CRASHED, message=message, force=False
    )
    automation = AutomationCore(
        name=AUTOMATION_NAME,
        description="Installed by cloudimages: marks flow runs Crashed when their process dies.",
        enabled=True,
        trigger=trigger,
        actions=[action],
    )
    with get_client(sync_client=True) as client:
        found = client.read_automations_by_name(AUTOMATION_NAME)
        if found:
            client.update_automation(found[0].id, automation)
        else:
            client.create_automation(automation)
    return AUTOMATION_NAME
