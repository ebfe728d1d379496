"""Keystone v3 for the local cloud's upstream-OpenStack regions (beside Rackspace's v2.0).

``build_keystone`` assembles it; ``keystone_routes`` serves it on the identity port.
"""

from __future__ import annotations

from ..db import Database
from ..settings import LocalCloudSettings
from .directory import Directory
from .routes import keystone_routes
from .service import Keystone
from .store import KeystoneStore, Token
from .views import OpenStackEndpoints

__all__ = ["Keystone", "OpenStackEndpoints", "Token", "build_keystone", "keystone_routes"]


def build_keystone(
    db: Database,
    settings: LocalCloudSettings,
    endpoints: list[OpenStackEndpoints],
    *,
    base_url: str,
) -> Keystone:
    """The directory from the seed plus ``settings.openstack_users``; tokens in ``db``."""
    return Keystone(
        Directory.build(settings.openstack_users),
        KeystoneStore(db),
        endpoints,
        base_url=base_url,
        token_lifetime=settings.token_lifetime,
    )
