"""The one place where steps turn account names into clouds.

Steps take plain values (a block name, a region, ids) so the UI shows what each
one touched; here a name becomes the account's block (loaded once per flow run,
so a changed key is picked up by the next run) and the block hands out the
cloud of one region, shared by the run's parallel steps.
"""

from __future__ import annotations

from functools import lru_cache

from prefect.runtime import flow_run

from ..blocks import AccountBlock, load_account
from ..client import Cloud

__all__ = ["account_region", "cloud"]


def cloud(account: str, region: str | None = None) -> Cloud:
    """The cloud of block ``account`` in ``region`` (default: the block's region)."""
    return _block(account).cloud(region)


def account_region(account: str, region: str | None = None) -> str:
    """The region's name as the account's cloud spells it (default: the block's region)."""
    return _block(account).region_name(region)


def _block(name: str) -> AccountBlock:
    return _load(str(flow_run.id or ""), name)


@lru_cache(maxsize=256)
def _load(run_id: str, name: str) -> AccountBlock:
    return load_account(name)
