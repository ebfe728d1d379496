"""The pipelines as deployments: their specs, account limits and the checkout pull step.

- **The deployments** are defined once, here, in :data:`DEPLOYMENTS`; ``cloudimages
  serve`` serves them and a test checks that ``deployments/prefect.yaml`` says the
  same. Each flow takes one request model, so a deployment's parameters are
  ``{"request": {...}}`` and its defaults are the model's.
- **Per-account concurrency limits.** Replication holds one slot of the Prefect
  global concurrency limit ``cloudimages-account-<block>`` while it works on a
  target account. A limit that does not exist is not enforced, so create one per
  account block with :func:`ensure_account_limits` (``cloudimages accounts limit 2``,
  or ``prefect gcl create cloudimages-account-<block> --limit 2``).
- **Where the code runs.** ``deployments/prefect.yaml`` names module
  entrypoints (``cloudimages.flows.import_image:import_image``), imported from
  the worker's venv; its pull step :func:`use_checkout` moves the flow-run
  process into the checkout that venv was installed from.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from ..params import account_limit_name

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

CHECKOUT_ENV = "CLOUDIMAGES_CHECKOUT"
NIGHTLY_CRON = "0 2 * * *"
SYNC_CRON = "0 3 * * *"
DRIFT_CRON = "0 */6 * * *"
SYNC_SPEC = "deployments/golden-images.yaml"
_MARKER = Path("src/cloudimages/flows")


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
            "request": {
                "tag": "replicate",
                "source": "prod-dfw",
                "targets": ["prod-iad", "prod-ord"],
                "mode": "auto",
            }
        },
        cron=NIGHTLY_CRON,
    ),
    DeploymentSpec(
        name="sync",
        module="cloudimages.flows.sync_images",
        function="sync_images",
        description="Every day at 03:00 UTC, make every target as the sync spec says"
        " (golden images present, identical, shared and fresh); nothing is deleted.",
        tags=("cloudimages", "sync", "scheduled"),
        parameters={"request": {"spec": SYNC_SPEC, "mode": "apply"}},
        cron=SYNC_CRON,
    ),
    DeploymentSpec(
        name="drift",
        module="cloudimages.flows.sync_images",
        function="sync_images",
        description="Every 6 hours, check the sync spec's targets for drift without changing"
        " anything; the run fails (and an event per drifted image is emitted) when apply"
        " would change something, for alerting.",
        tags=("cloudimages", "sync", "drift", "scheduled"),
        parameters={"request": {"spec": SYNC_SPEC, "mode": "plan", "fail_on_drift": True}},
        cron=DRIFT_CRON,
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
        raise ConfigurationError(msg)
    built = []
    for chosen in (s for s in DEPLOYMENTS if not only or s.name in only):
        spec = chosen
        if spec.name == "nightly":
            request = {**spec.parameters["request"], **(nightly or {})}
            spec = replace(spec, parameters={"request": request}, cron=nightly_cron or spec.cron)
        built.append(spec.to_deployment(schedule=schedules))
    return built


def ensure_account_limits(names: Sequence[str], limit: int) -> list[str]:
    """Create or update one active global concurrency limit per account block.

    Each account ``name`` gets ``cloudimages-account-<name>`` with ``limit``
    slots: at most that many runs work on the account at once, across every
    worker and served process talking to this Prefect server. Running it again
    changes the limit (and re-activates a limit switched off in the UI); slots
    held by running flows are left alone.

    Args:
        names: Block names of ``CloudImagesAccount`` blocks.
        limit: Slots per account (runs allowed at once); at least 1.

    Returns:
        The names of the limits, in the order of ``names``.
    """
    if limit < 1:
        msg = f"an account limit must be at least 1, not {limit}; a limit of 0 blocks all runs"
        raise ConfigurationError(msg)
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
    )
    from prefect.exceptions import ObjectNotFound

    limit_names = [account_limit_name(name) for name in dict.fromkeys(names)]
    with get_client(sync_client=True) as client:
        for limit_name in limit_names:
            try:
                client.read_global_concurrency_limit_by_name(limit_name)
            except ObjectNotFound:
                create = GlobalConcurrencyLimitCreate(name=limit_name, limit=limit, active=True)
                client.create_global_concurrency_limit(create)
            else:
                update = GlobalConcurrencyLimitUpdate(limit=limit, active=True)
                client.update_global_concurrency_limit(limit_name, update)
    return limit_names


def saved_account_names() -> list[str]:
    """Names of every ``CloudImagesAccount`` block saved on the Prefect server."""
    from prefect.client.orchestration import get_client

    from ..blocks import CloudImagesAccount

    slug = CloudImagesAccount.get_block_type_slug()
    names: list[str] = []
    with get_client(sync_client=True) as client:
        while True:
            page = client.read_block_documents_by_type(
                slug, offset=len(names), limit=200, include_secrets=False
            )
            names += [doc.name for doc in page if doc.name and not doc.is_anonymous]
            if len(page) < 200:
                return names


def find_checkout() -> Path | None:
    """The repository checkout (a folder holding ``src/cloudimages/flows``), if there is one.

    ``$CLOUDIMAGES_CHECKOUT`` first, then the checkout an editable install
    (``pip install -e .``) points at; None for a plain install from a wheel.
    """
    candidates = [Path(os.environ[CHECKOUT_ENV])] if os.environ.get(CHECKOUT_ENV) else []
    candidates += Path(__file__).resolve().parents[3:4]
    return next((c.resolve() for c in candidates if (c / _MARKER).is_dir()), None)


def use_checkout(directory: str | None = None) -> dict[str, str]:
    """Pull step: run the flow from the cloudimages checkout.

    ``deployments/prefect.yaml`` uses it as
    ``- cloudimages.cli.deployments.use_checkout: {}``.
    A worker starts each flow run in a fresh temporary directory; this step
    changes into the checkout instead, so a relative ``source`` path given in
    the UI or with ``--param`` means the same on every worker. The flows
    themselves are imported from the installed package (module entrypoints),
    so a worker without a checkout just stays where it is.

    Args:
        directory: The directory to use; default: :func:`find_checkout`.

    Returns:
        ``{"directory": <the working directory>}`` for later steps.
    """
    if directory:
        target = Path(directory).expanduser().resolve()
        if not target.is_dir():
            msg = f"pull step use_checkout: {target} is not a directory; fix the path or unset it"
            raise ConfigurationError(msg)
    else:
        target = find_checkout() or Path.cwd()
    os.chdir(target)
    return {"directory": str(target)}
