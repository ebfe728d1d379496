"""The local cloud: Rackspace Identity, Cloud Images and Cloud Files on your machine.

It is the embedded default of cloudimages (the demo needs no account), the
test bed of the pipelines, and a way for users to dry-run their pipelines.
"""

from .accounts import Account
from .server import LocalCloud
from .settings import AccountSpec, LocalCloudSettings

__all__ = ["Account", "AccountSpec", "LocalCloud", "LocalCloudSettings"]
