"""``cloudimages demo``: the whole story on an embedded local cloud (the story is ``_demo``)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ._common import OPTIONS, JsonFlag, console, errors, prefect_defaults, print_json

if TYPE_CHECKING:
    from rich.status import Status

    from ._demo import DemoReport, DemoStep


def demo_command(
    keep: Annotated[
        bool, typer.Option(help="Keep the work directory (local cloud data, images, Prefect home).")
    ] = False,
    data_dir: Annotated[
        Path | None, typer.Option(help="Local cloud data directory (default: a temporary one).")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Import, share, replicate and export a real disk image on an embedded local cloud.

    Needs no account and no Prefect server: without PREFECT_API_URL it uses a
    temporary Prefect home and API (started in 10-20 s); with it, the runs show
    in that server's UI. Exit codes: 0 every step verified; 1 a step failed
    (one line on stderr; with --json the partial report is printed too);
    3 a flow failed for another reason; 130 interrupted.
    """
    work = Path(tempfile.mkdtemp(prefix="cloudimages-demo-"))
    if not keep:
        # Registered before Prefect is imported, so it runs after Prefect's own
        # exit handler has stopped the temporary API server that uses this directory.
        atexit.register(shutil.rmtree, work, ignore_errors=True)
    from ._demo import isolate_prefect, run_demo

    prefect_defaults(connect=False)
    temporary = isolate_prefect(work / "prefect")
    os.environ.setdefault("CLOUDIMAGES_WORK_DIR", str(work / "work"))  # conversions, downloads
    if not json_output:
        where = "a temporary Prefect API" if temporary else "the Prefect API in PREFECT_API_URL"
        console.print(f"[bold]cloudimages demo[/bold] in {escape(str(work))}, with {where}")
    listener = None if json_output else _Progress()
    try:
        report = run_demo(work, data_dir=data_dir, listener=listener)
    except BaseException as err:
        if listener is not None:
            listener.close()
        partial: DemoReport | None = getattr(err, "demo_report", None)
        if json_output and partial is not None:
            print_json(partial.model_dump(mode="json"))
        raise
    if listener is not None:
        listener.close()
    if json_output:
        print_json(report.model_dump(mode="json"))
        return
    _summary(report, kept=work if keep else None)


class _Progress:
    """A spinner on the running step; a ✓ or ✗ line for each finished one."""

    def __init__(self) -> None:
        self.status: Status | None = None

    def __call__(self, name: str, done: DemoStep | None) -> None:
        if done is None:
            if errors.is_terminal and not OPTIONS.verbose:
                self.close()
                self.status = errors.status(f"{escape(name)}…")
                self.status.start()
            return
        self.close()
        mark = "[green]✓[/green]" if done.ok else "[red]✗[/red]"
        detail = f" [dim]{escape(done.detail)}[/dim]" if done.detail else ""
        errors.print(f"{mark} {escape(done.name)} ({done.seconds:.1f} s){detail}", highlight=False)

    def close(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None


def _summary(report: DemoReport, *, kept: Path | None) -> None:
    table = Table(title="Demo", title_justify="left")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    table.add_column("outcome", overflow="fold")
    for step in report.steps:
        table.add_row(escape(step.name), f"{step.seconds:.1f}", escape(step.detail))
    console.print(table)
    targets: list[dict[str, Any]] = report.reports.get("replicate", {}).get("targets", [])
    ids = [f"demo-alice {report.image_id}"] + [
        f"{t['account']} {t['image_id']} ({t['region']}, {t['mode']})" for t in targets
    ]
    console.print(f"Images: {escape('; '.join(ids))}")
    console.print(f"[green]All steps verified[/green] in {report.seconds:.1f} s.")
    if kept is not None:
        console.print(f"Kept {escape(str(kept))} (local cloud data, images, Prefect home).")
