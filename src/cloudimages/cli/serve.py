"""``cloudimages serve``: the deployments of ``deployments/prefect.yaml``, without a work pool.

One long-running process registers the four deployments on the Prefect server
in ``PREFECT_API_URL`` and runs their flow runs itself (each in a subprocess),
whether they come from the UI, ``prefect deployment run`` or the nightly
schedule. It is the single-machine alternative to ``prefect deploy`` plus
workers; do not do both on one server, as both register the same names.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ..params import ReplicateTaggedRequest, build, help_of
from ._common import console, prefect_defaults
from .deployments import NIGHTLY_CRON


def serve_command(
    limit: Annotated[int, typer.Option(min=1, help="Flow runs at once in this process.")] = 4,
    only: Annotated[
        list[str] | None,
        typer.Option(
            help="Serve only this deployment (import, export, replicate, nightly); repeatable.",
            metavar="NAME",
        ),
    ] = None,
    schedules: Annotated[
        bool,
        typer.Option(help="Register the nightly schedule (--no-schedules: run it by hand)."),
    ] = True,
    tag: Annotated[
        str | None, typer.Option(help=f"Nightly: {help_of(ReplicateTaggedRequest, 'tag')}")
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Nightly: the account block that owns the images.")
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option(
            help="Nightly: an account block to replicate to; repeatable.", metavar="BLOCK"
        ),
    ] = None,
    cron: Annotated[
        str | None, typer.Option(help=f"Cron of the nightly run, UTC (default {NIGHTLY_CRON!r}).")
    ] = None,
    account_limit: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help="First set the per-account limit of every saved account block to N.",
        ),
    ] = None,
) -> None:
    """Serve the cloudimages deployments (import, export, replicate, nightly) from this process.

    Runs come from the Prefect server in PREFECT_API_URL (UI, `prefect deployment
    run`, the nightly schedule). Ctrl-C stops (and pauses the nightly schedule).
    """
    nightly: dict[str, object] = {
        key: value for key, value in (("tag", tag), ("source", source)) if value
    }
    if target:
        nightly["targets"] = list(target)
    if nightly:  # the overrides must make a valid request together with the defaults
        defaults = {"tag": "replicate", "source": "prod-dfw", "targets": ["prod-iad"]}
        build(ReplicateTaggedRequest, **(defaults | nightly))
    prefect_defaults(quiet=False)
    from prefect import serve

    from .crashes import ensure_crash_detection
    from .deployments import build_deployments, ensure_account_limits, saved_account_names

    deployments = build_deployments(
        only=only or (), schedules=schedules, nightly=nightly, nightly_cron=cron
    )
    if account_limit is not None:
        for name in ensure_account_limits(saved_account_names(), account_limit):
            console.print(f"{name}: limit {account_limit}")
    console.print(f"automation: {ensure_crash_detection()}")
    serve(*deployments, limit=limit)
