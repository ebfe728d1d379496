"""Running the pipelines as deployments: account limits and the checkout pull step.

Two things every deployment of cloudimages needs, whichever way it is served:

- **Per-account concurrency limits.** ``replicate-image`` holds one slot of the
  Prefect global concurrency limit ``cloudimages-account-<block>`` while it works
  on a target account. A limit that does not exist is not enforced, so create
  one per account block with :func:`ensure_account_limits` (or
  ``python -m cloudimages.deploy --account-limit 2``, or
  ``prefect gcl create cloudimages-account-<block> --limit 2``).
- **Where the code runs.** ``deployments/prefect.yaml`` names module
  entrypoints (``cloudimages.flows.import_image:import_image``), imported from
  the worker's venv; its pull step :func:`use_checkout` moves the flow-run
  process into the checkout that venv was installed from.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

ACCOUNT_LIMIT_PREFIX = "cloudimages-account-"
CHECKOUT_ENV = "CLOUDIMAGES_CHECKOUT"
_MARKER = Path("src/cloudimages/flows")


def account_limit_name(block: str) -> str:
    """The global concurrency limit that guards the account saved as ``block``."""
    return f"{ACCOUNT_LIMIT_PREFIX}{block}"


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
        raise ValueError(msg)
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

    from .blocks import CloudImagesAccount

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
    candidates += Path(__file__).resolve().parents[2:3]
    return next((c.resolve() for c in candidates if (c / _MARKER).is_dir()), None)


def use_checkout(directory: str | None = None) -> dict[str, str]:
    """Pull step: run the flow from the cloudimages checkout.

    ``deployments/prefect.yaml`` uses it as ``- cloudimages.deploy.use_checkout: {}``.
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
            raise FileNotFoundError(msg)
    else:
        target = find_checkout() or Path.cwd()
    os.chdir(target)
    return {"directory": str(target)}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m cloudimages.deploy --account-limit N [BLOCK ...]``."""
    parser = argparse.ArgumentParser(
        prog="python -m cloudimages.deploy",
        description="Create or update per-account global concurrency limits on the Prefect"
        " server in PREFECT_API_URL.",
    )
    parser.add_argument(
        "blocks", nargs="*", help="Account block names (default: every saved account block)."
    )
    parser.add_argument(
        "--account-limit", type=int, required=True, help="Runs allowed at once per account."
    )
    args = parser.parse_args(argv)
    names = args.blocks or saved_account_names()
    if not names:
        parser.error("no account blocks are saved; add one with `cloudimages accounts add`")
    try:
        created = ensure_account_limits(names, args.account_limit)
    except ValueError as err:
        parser.error(str(err))
    for name in created:
        print(f"{name}: limit {args.account_limit}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
