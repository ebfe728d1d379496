"""Tell the world what a flow did: a markdown artifact and an event for automations."""

from __future__ import annotations

from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.events import emit_event
from pydantic import BaseModel


def publish(
    report: BaseModel,
    *,
    key: str,
    markdown: str,
    event: str,
    image_id: str,
    table: list[dict[str, Any]] | None = None,
) -> None:
    """Store the report as artifacts (markdown, and a table when given) and emit ``event``.

    The event's resource is the image (``cloudimages.image.<id>``), so an
    automation can react to, say, every ``cloudimages.image.imported``.
    """
    create_markdown_artifact(markdown=markdown, key=key, description=event)
    if table is not None:
        create_table_artifact(table=table, key=f"{key}-targets", description=event)
    emit_event(
        event=event,
        resource={"prefect.resource.id": f"cloudimages.image.{image_id}"},
        payload=report.model_dump(mode="json"),
    )


def with_report(error: BaseException, report: BaseModel) -> BaseException:
    """Attach a flow's partial report to its error (``--json`` prints it before the error)."""
    error.report = report  # type: ignore[attr-defined]
    return error


def with_note(error: BaseException, note: str) -> None:
    """Add what the flow left behind, and why, to its error's message (one line)."""
    error.args = (f"{str(error).rstrip()} {note}", *error.args[1:])
