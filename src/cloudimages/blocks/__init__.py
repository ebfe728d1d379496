"""Prefect blocks: one credentials block per cloud account, of either dialect.

A block holds who to log in as (secrets as ``SecretStr``, stored encrypted by
Prefect) and hands out the account's ``Cloud`` of a region. Flows take block
*names* as parameters, never secrets; ``load_account`` finds a name among both
block types. An account on the local cloud is the same block with the local
identity or Keystone URL.

- ``CloudImagesAccount``: Rackspace (Identity v2.0 with an API key).
- ``OpenStackAccount``: a Keystone v3 project of a private or another provider's cloud.
"""

from __future__ import annotations

from ..errors import ConfigurationError
from ._shared import clear_sessions
from .openstack import OpenStackAccount
from .rackspace import CloudImagesAccount

__all__ = [
    "AccountBlock",
    "CloudImagesAccount",
    "OpenStackAccount",
    "clear_sessions",
    "load_account",
]

AccountBlock = CloudImagesAccount | OpenStackAccount
BLOCK_TYPES: tuple[type[CloudImagesAccount] | type[OpenStackAccount], ...] = (
    CloudImagesAccount,
    OpenStackAccount,
)


def load_account(name: str) -> AccountBlock:
    """Load the account block named ``name``, of either type, or say how to create it."""
    for kind in BLOCK_TYPES:
        try:
            block = kind.load(name)
        except ValueError:
            continue
        assert isinstance(block, kind)
        return block
    msg = (
        f"no account block named {name!r}; create it with `cloudimages accounts add {name}"
        " --username USER --region REGION` (Rackspace) or `cloudimages accounts add"
        f" {name} --cloud ENTRY` (an OpenStack cloud from clouds.yaml)"
    )
    raise ConfigurationError(msg)
