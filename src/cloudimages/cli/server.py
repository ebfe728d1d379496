"""``cloudimages server setup``: prepare a Prefect server for the pipelines, once.

What a server running cloudimages' deployments needs besides the deployments:
the crash detector (``crashes``) and per-account concurrency limits
(``deployments.ensure_account_limits``). ``cloudimages serve`` does this itself;
after ``prefect deploy`` with workers, run this command.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ._blocks import prefect_api
from ._common import JsonFlag, console, prefect_defaults, print_json

app = typer.Typer(no_args_is_help=True, help="Prepare the Prefect server for the pipelines.")


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
