"""``cloudimages serve``: the deployments of ``deployments/prefect.yaml``, without a work pool.

One long-running process registers the four deployments on the Prefect server
in ``PREFECT_API_URL`` and runs their flow runs itself (each in a subprocess),
whether they come from the UI, ``prefect deployment run`` or the nightly
schedule. It is the single-machine alternative to ``prefect deploy`` plus
workers; do not do both on one server, as both register the same names.

The deployments are defined once, here, in :data:`DEPLOYMENTS`; a test checks
that ``deployments/prefect.yaml`` says the same.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

__all__ = ["DEPLOYMENTS", "DeploymentSpec", "build_deployments", "main"]

NIGHTLY_CRON = "0 2 * * *"


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment: which flow, under what name, with which defaults and schedule."""

    name: str
    module: str
    function: str
    description: str
    tags: tuple[str, ...]
    parameters: dict[str, Any] = field(default_factory=dict)
    cron: str | None = None

    @property
    def entrypoint(self) -> str:
        """The entrypoint as ``prefect.yaml`` writes it: ``module:function``."""
        return f"{self.module}:{self.function}"

    def to_deployment(self, *, schedule: bool = True) -> RunnerDeployment:
        from prefect.types.entrypoint import EntrypointType

        flow = getattr(importlib.import_module(self.module), self.function)
        deployment: RunnerDeployment = flow.to_deployment(
            name=self.name,
            description=self.description,
            tags=list(self.tags),
            parameters=dict(self.parameters),
            cron=self.cron if schedule else None,
            enforce_parameter_schema=True,
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        return deployment


DEPLOYMENTS: tuple[DeploymentSpec, ...] = (
    DeploymentSpec(
        name="import",
        module="cloudimages.flows.import_image",
        function="import_image",
        description="Import a disk image (a path on the worker, or an http(s) URL) into an"
        " account as a verified image.",
        tags=("cloudimages", "import"),
    ),
    DeploymentSpec(
        name="export",
        module="cloudimages.flows.export_image",
        function="export_image",
        description="Export an image to a Cloud Files container as a verified object.",
        tags=("cloudimages", "export"),
    ),
    DeploymentSpec(
        name="replicate",
        module="cloudimages.flows.replicate_image",
        function="replicate_image",
        description="Replicate one image to target accounts and regions; targets that"
        " already have it are skipped.",
        tags=("cloudimages", "replicate"),
    ),
    DeploymentSpec(
        name="nightly",
        module="cloudimages.flows.replicate_tagged",
        function="replicate_tagged",
        description="Every night at 02:00 UTC, replicate every image tagged `replicate` in"
        " the source account to the target accounts; only what is missing is copied.",
        tags=("cloudimages", "replicate", "scheduled"),
        parameters={
            "tag": "replicate",
            "source": "prod-dfw",
            "targets": ["prod-iad", "prod-ord"],
            "mode": "auto",
        },
        cron=NIGHTLY_CRON,
    ),
)


def build_deployments(
    *,
    only: Sequence[str] = (),
    schedules: bool = True,
    nightly: dict[str, Any] | None = None,
    nightly_cron: str | None = None,
) -> list[RunnerDeployment]:
    """The runner deployments to serve, optionally a subset and with nightly overrides."""
    known = {spec.name for spec in DEPLOYMENTS}
    unknown = sorted(set(only) - known)
    if unknown:
        msg = f"no deployment named {', '.join(unknown)}; choose from {', '.join(sorted(known))}"
        raise ValueError(msg)
    specs = [spec for spec in DEPLOYMENTS if not only or spec.name in only]
    built = []
    for chosen in specs:
        spec = chosen
        if spec.name == "nightly":
            spec = replace(
                chosen,
                parameters={**spec.parameters, **(nightly or {})},
                cron=nightly_cron or spec.cron,
            )
        built.append(spec.to_deployment(schedule=schedules))
    return built


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cloudimages serve",
        description="Serve the cloudimages deployments (import, export, replicate, nightly)"
        " from this process, without a work pool, on the Prefect server in PREFECT_API_URL."
        " Ctrl-C stops (and pauses the nightly schedule).",
    )
    add = parser.add_argument
    add("--limit", type=int, default=4, help="Flow runs at once in this process (default 4).")
    add(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="Serve only this deployment (import, export, replicate, nightly); repeatable.",
    )
    add(
        "--no-schedules",
        action="store_true",
        help="Register the nightly deployment without its schedule (run it by hand).",
    )
    add("--tag", help="Tag the nightly replication looks for (default: replicate).")
    add("--source", help="Account block the nightly replication reads (default: prod-dfw).")
    add(
        "--target",
        action="append",
        default=[],
        metavar="BLOCK",
        help="Account block the nightly replication writes to; repeatable"
        " (default: prod-iad, prod-ord).",
    )
    add("--cron", help=f"Cron of the nightly replication, in UTC (default: {NIGHTLY_CRON!r}).")
    add(
        "--account-limit",
        type=int,
        metavar="N",
        help="Before serving, set the per-account concurrency limit of every saved account"
        " block to N (cloudimages-account-<block>).",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), then serve until interrupted."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.limit < 1:
        parser.error("--limit must be at least 1")
    if args.account_limit is not None and args.account_limit < 1:
        parser.error("--account-limit must be at least 1 (0 would block every run)")
    nightly = {
        key: value
        for key, value in (("tag", args.tag), ("source", args.source), ("targets", args.target))
        if value
    }
    try:
        deployments = build_deployments(
            only=args.only,
            schedules=not args.no_schedules,
            nightly=nightly,
            nightly_cron=args.cron,
        )
    except ValueError as err:
        parser.error(str(err))
    from prefect import serve

    if args.account_limit is not None:
        from .deploy import ensure_account_limits, saved_account_names

        for name in ensure_account_limits(saved_account_names(), args.account_limit):
            print(f"{name}: limit {args.account_limit}")
    serve(*deployments, limit=args.limit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
