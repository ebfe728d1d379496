"""``cloudimages server start|status|stop|setup``: the background Prefect server, and setup.

When Prefect's settings name no API (no ``PREFECT_API_URL``), the CLI runs its
pipelines against a Prefect server of its own that it starts in the
background on first use and reuses after (``_localserver``); ``start``,
``status`` and ``stop`` manage it by hand. ``setup`` prepares any server for
the pipelines: the crash detector (``crashes``) and per-account concurrency
limits (``deployments.ensure_account_limits``). The CLI runs it on every
server it starts; ``cloudimages serve`` runs it too; after ``prefect deploy``
with workers, run it once.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.markup import escape

from . import _localserver
from ._blocks import prefect_api
from ._common import JsonFlag, console, key_value_table, prefect_defaults, print_json
from ._prefect_target import NO_SERVER_ENV

app = typer.Typer(
    no_args_is_help=True,
    help="The background Prefect server (start, status, stop) and server setup.",
)


def _describe(server: _localserver.Server | None, *, running: bool) -> dict[str, Any]:
    if server is None:
        return {"running": False, "home": str(_localserver.server_dir())}
    return {
        "running": running,
        "url": server.url,
        "api_url": server.api_url,
        "ui": f"{server.url}/v2" if running else None,
        "pid": server.pid,
        "home": server.home,
        "log": str(_localserver.log_path()),
        "credentials": str(_localserver.server_dir() / "server.json"),
        "prefect_version": server.prefect_version,
        "up_seconds": round(time.time() - server.started_at) if running else None,
    }


@app.command("start")
def start(json_output: JsonFlag = False) -> None:
    """Start the background Prefect server (or find it running); the CLI uses it.

    Used when PREFECT_API_URL (or the Prefect profile) names no server. Pipelines
    and other commands start it themselves on first use; this starts it ahead.
    """
    from ._connect import start_background_server

    server, started = start_background_server()
    data = _describe(server, running=True) | {"started": started}
    if json_output:
        print_json(data)
        return
    said = "Started" if started else "Already running:"
    console.print(f"{said} the background Prefect server at [bold]{escape(server.url)}[/bold].")
    console.print(key_value_table({k: v for k, v in data.items() if k != "started"}))


@app.command("status")
def status(json_output: JsonFlag = False) -> None:
    """Show the background Prefect server: running or not, URL, pid, home, log."""
    server = _localserver.recorded()
    alive = _localserver.running()
    data = _describe(server, running=alive is not None)
    if json_output:
        print_json(data)
        return
    if server is None:
        console.print(
            "No background Prefect server is running; the next command that needs one starts it"
            f" (unless PREFECT_API_URL is set, or {NO_SERVER_ENV}=1)."
        )
        return
    state = "running" if alive else "not answering (the next command starts a fresh one)"
    console.print(f"The background Prefect server is {state}.")
    console.print(key_value_table(data))


@app.command("stop")
def stop(json_output: JsonFlag = False) -> None:
    """Stop the background Prefect server (its data stays; the next command starts it again)."""
    server = _localserver.stop()
    if json_output:
        print_json({"stopped": server is not None, "pid": server.pid if server else None})
        return
    if server is None:
        console.print("No background Prefect server was running.")
        return
    console.print(f"Stopped the background Prefect server (pid {server.pid}, {server.url}).")


@app.command("setup")
def setup(
    account_limit: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help="Also set the per-account limit of every saved account block to N.",
        ),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Install the crash detector (and, with --account-limit, the account limits)."""
    prefect_defaults()
    from .crashes import ensure_crash_detection
    from .deployments import ensure_account_limits, saved_account_names

    with prefect_api():
        automation = ensure_crash_detection()
        limits = (
            ensure_account_limits(saved_account_names(), account_limit)
            if account_limit is not None
            else []
        )
    if json_output:
        print_json({"automation": automation, "limits": dict.fromkeys(limits, account_limit)})
        return
    console.print(f"automation: {automation}")
    for name in limits:
        console.print(f"{name}: limit {account_limit}")
