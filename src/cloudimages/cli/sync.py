"""``cloudimages sync plan|apply FILE``: golden images as code, run as the ``sync-images`` flow.

``plan`` changes nothing and exits 0 when every target is as the spec says,
4 when ``apply`` (with the same ``--prune``) would change something. ``apply``
makes it so; deleting needs ``--prune``, and then a confirmation at the
terminal (after the plan's deletions are listed) or ``--yes``; only the
deletions confirmed are made. A local spec is validated before Prefect starts,
so a bad spec fails in a fraction of a second, each problem at its line.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import ConfigurationError
from ..params import SyncRequest, build, default_of, help_of
from ..syncspec import load_spec, schema_text
from ..syncspec.report import SyncReport
from ._common import JsonFlag, console, errors, prefect_defaults, print_json
from ._report import report_dict
from ._running import run_flow

__all__ = ["PLAN_HAS_CHANGES", "app"]

#: ``sync plan``'s exit code when apply would change something (0: nothing to do).
PLAN_HAS_CHANGES = 4

app = typer.Typer(
    no_args_is_help=True,
    help="Golden images as code: keep a spec's images present, identical, shared and fresh"
    " in every target (see docs/sync.md).",
)

SpecArgument = Annotated[
    str, typer.Argument(help="The sync spec: a YAML file or an http(s) URL.", show_default=False)
]
PruneOption = Annotated[bool, typer.Option(help=help_of(SyncRequest, "prune"))]


def _spec(given: str) -> str:
    """A URL as given; a local spec validated now (no Prefect yet) and made absolute."""
    if given.startswith(("http://", "https://")):
        return given
    load_spec(given)
    return str(Path(given).expanduser().resolve())


def _run(request: SyncRequest, title: str, *, json_output: bool) -> SyncReport:
    prefect_defaults()
    from ..flows.sync_images import sync_images

    try:
        report = run_flow(title, lambda: sync_images(request), show_progress=not json_output)
    except Exception as err:
        partial = getattr(err, "report", None)
        if json_output and partial is not None:
            print_json(report_dict(partial))
        elif isinstance(partial, SyncReport):
            _print(partial)
        raise
    assert isinstance(report, SyncReport)
    return report


def _print(report: SyncReport) -> None:
    title = f"Sync {report.mode} of catalogue {report.catalog!r}"
    records = report.table_rows()
    table = Table(*(records[0] if records else ()), title=title, title_justify="left")
    for record in records:
        table.add_row(*(escape(str(value)) for value in record.values()))
    console.print(table)
    if report.mode == "plan" and not report.has_changes:
        console.print("Nothing to do: every target is as the spec says.")
    elif report.mode == "plan":
        console.print(f"{report.changes} change(s) would be made; `sync apply` makes them.")
    else:
        failed = f", {report.failed} failed" if report.failed else ""
        console.print(f"{report.changes} change(s) made{failed}.")


def plan_command(
    spec: SpecArgument,
    prune: PruneOption = default_of(SyncRequest, "prune"),
    json_output: JsonFlag = False,
) -> None:
    """Show, per image and target, the drift found and what apply would change.

    Changes nothing. Exit code 0: nothing to do; 4: apply would change
    something; 1: the spec or a target is wrong (the error names the line).
    """
    request = build(SyncRequest, spec=_spec(spec), mode="plan", prune=prune)
    report = _run(request, f"Planning {spec}", json_output=json_output)
    if json_output:
        print_json(report_dict(report))
    else:
        _print(report)
    if report.has_changes:
        raise typer.Exit(PLAN_HAS_CHANGES)


def apply_command(
    spec: SpecArgument,
    prune: PruneOption = default_of(SyncRequest, "prune"),
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete without asking (with --prune).")
    ] = False,
    max_per_account: Annotated[
        int, typer.Option(help=help_of(SyncRequest, "max_per_account"))
    ] = default_of(SyncRequest, "max_per_account"),
    task_timeout_minutes: Annotated[
        float, typer.Option(help=help_of(SyncRequest, "task_timeout_minutes"))
    ] = default_of(SyncRequest, "task_timeout_minutes"),
    json_output: JsonFlag = False,
) -> None:
    """Make every target as the spec says: create, update, share, rotate, retire.

    Nothing is deleted without --prune; with it, the deletions are listed and
    confirmed first (or pass --yes). A rerun after any failure does only what
    is left. With --json prints the report (every operation with its status).
    """
    given = _spec(spec)
    settings: dict[str, Any] = {
        "max_per_account": max_per_account,
        "task_timeout_minutes": task_timeout_minutes,
    }
    confirmed = _confirm_deletions(given, **settings) if prune and not yes else None
    request = build(
        SyncRequest,
        spec=given,
        mode="apply",
        prune=prune,
        delete_only=confirmed,
        **settings,
    )
    report = _run(request, f"Applying {spec}", json_output=json_output)
    if json_output:
        print_json(report_dict(report))
    else:
        _print(report)


def _confirm_deletions(spec: str, **settings: Any) -> list[str]:
    """Plan with --prune, list what would be deleted, and ask; the ids confirmed."""
    request = build(SyncRequest, spec=spec, mode="plan", prune=True, **settings)
    plan = _run(request, f"Planning {spec}", json_output=True)
    doomed = [
        (row, op) for row in plan.rows for op in row.ops if op.kind == "delete" and op.image_id
    ]
    if not doomed:
        return []
    errors.print(f"--prune would delete {len(doomed)} image(s):")
    for row, op in doomed:
        errors.print(f"  {op.image_id}  {op.detail}  in {row.target}", highlight=False)
    if not sys.stdin.isatty():
        msg = (
            f"--prune would delete {len(doomed)} image(s) and there is no terminal to confirm"
            " at; pass --yes to delete them. Nothing was changed."
        )
        raise ConfigurationError(msg)
    if not typer.confirm("Delete them?", default=False, err=True):
        msg = "deletions not confirmed; nothing was changed. Run without --prune to keep them."
        raise ConfigurationError(msg)
    return [op.image_id for _, op in doomed if op.image_id]


def schema_command() -> None:
    """Print the spec's JSON schema (as published in docs/sync-spec.schema.json)."""
    sys.stdout.write(schema_text())


app.command("plan")(plan_command)
app.command("apply")(apply_command)
app.command("schema")(schema_command)
