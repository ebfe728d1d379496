"""What every command shares: consoles, exit codes, JSON output and option types.

Nothing here imports Prefect: commands that need it call :func:`prefect_defaults`
and import it lazily, so ``--help`` and ``localcloud serve`` start fast.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from enum import IntEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


class ExitCode(IntEnum):
    """What the ``cloudimages`` process exits with."""

    OK = 0
    ERROR = 1  # a CloudImagesError: bad input, refused credentials, unknown block, ...
    USAGE = 2  # the command line itself is wrong (typer/click)
    FLOW_FAILED = 3  # a flow run failed for another reason than a CloudImagesError
    INTERRUPTED = 130  # Ctrl-C


class FlowRunFailed(Exception):
    """A pipeline failed with something other than a ``CloudImagesError`` (exit 3)."""


@dataclass
class Options:
    """Process-wide switches set by the root command (or found anywhere on the line)."""

    debug: bool = False
    verbose: bool = False


OPTIONS = Options()

JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print one JSON object on stdout instead of tables.")
]
AccountOption = Annotated[
    str,
    typer.Option(
        "--account",
        "-a",
        help="Name of the account block (see `cloudimages accounts list`).",
        show_default=False,
    ),
]
RegionOption = Annotated[
    str | None,
    typer.Option(
        help="Region to work in (default: the account block's region).", show_default=False
    ),
]

#: Settings that make a Prefect API started by this process fast and quiet (prefect-notes G1,
#: G3, G6). Applied with ``setdefault``: whatever the user exported wins.
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # A heartbeat every 30 s (Prefect's minimum) lets the crash detector (cli/crashes.py)
    # tell a dead run within 90 s.
    "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30",
    # Prefect's SDK telemetry (a notice on the terminal, events in the background): off too.
    "DO_NOT_TRACK": "1",
}


def prefect_defaults(*, quiet: bool = True, connect: bool = True) -> None:
    """Set Prefect's environment defaults; call it before the first ``import prefect``.

    With ``connect``, Prefect is pointed at the CLI's background server when its
    settings name no API (started first if needed, see ``_connect``); the demo
    does not connect, it isolates itself.
    Prefect's own console log lines are silenced unless ``--verbose`` or not
    ``quiet`` (a failed flow would print its traceback there): every line
    still reaches the API and the UI, and the CLI shows progress and warnings
    itself. ``cloudimages serve`` is not quiet: its runs' lines are its log.
    """
    if connect:  # first: the settings it looks up are the user's, not these defaults
        from ._connect import connect as connect_to_api

        connect_to_api()
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    if quiet and not OPTIONS.verbose:
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
        # "Still processing items" while events drain at exit: noise on a command line.
        logging.getLogger("EventsWorker").setLevel(logging.ERROR)


def print_json(data: Any) -> None:
    """One JSON document on stdout, plain (no colour, no wrapping), for scripts."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def fail(err: BaseException, code: ExitCode) -> None:
    """Print ``TypeName: message`` (after the traceback with --debug) and exit."""
    if OPTIONS.debug:
        errors.print_exception(show_locals=False)
    errors.print(f"[red]{type(err).__name__}:[/red] {escape(str(err))}", highlight=False)
    raise SystemExit(int(code))


def key_value_table(rows: dict[str, Any], *, title: str | None = None) -> Table:
    """A two-column table of names and values; ``None`` values are left out."""
    table = Table(show_header=False, title=title, title_justify="left", box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in rows.items():
        if value is None or (isinstance(value, list | dict) and not value):
            continue
        table.add_row(name, escape(format_value(value)))
    return table


def format_value(value: Any) -> str:
    """How a value reads in a table cell."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={format_value(v)}" for k, v in value.items())
    return str(value)


def human_size(size: int | None) -> str:
    """``3.0 MiB`` for 3145728; empty for unknown."""
    if size is None:
        return ""
    amount = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return str(size)
