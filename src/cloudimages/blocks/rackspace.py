"""The Rackspace account block: Identity v2.0 with an API key, Cloud Images and Cloud Files."""

from __future__ import annotations

from typing import ClassVar

from prefect.blocks.core import Block
from pydantic import Field, HttpUrl, SecretStr

from ..client import (
    DEFAULT_IDENTITY_URL,
    AccountSession,
    Cloud,
    Credentials,
    ImagesClient,
    RackspaceCloud,
)
from ..client.objects import ObjectsClient
from ._shared import fingerprint, shared

__all__ = ["CloudImagesAccount"]


class CloudImagesAccount(Block):
    """Credentials of one Rackspace Cloud account, and the clients they open.

    Parallel tasks of a flow share one authenticated session per account, so a
    token is fetched once and refreshed once.

    Example:
        Load a saved account and list its images:
        ```python
        from cloudimages.blocks import CloudImagesAccount

        account = CloudImagesAccount.load("BLOCK_NAME")
        for image in account.images_client().list_images():
            print(image.id, image.name)
        ```
    """

    _block_type_name: ClassVar[str] = "Cloud Images Account"
    _block_type_slug: ClassVar[str] = "cloud-images-account"
    _logo_url: ClassVar[HttpUrl | None] = None
    _documentation_url: ClassVar[HttpUrl | None] = HttpUrl(
        "https://docs.rackspace.com/docs/cloud-images/v2/"
    )
    _description: ClassVar[str] = (
        "A Rackspace Cloud account (or a local-cloud account) that cloudimages pipelines"
        " import into, export from, share with and replicate to."
    )

    username: str = Field(
        default=...,
        description="The account's username, as used to log in to Rackspace Identity.",
    )
    api_key: SecretStr = Field(
        default=...,
        description="The account's API key; Prefect stores it encrypted and never shows it.",
    )
    region: str | None = Field(
        default=None,
        description="Region to work in (for example DFW or IAD); empty: the account's default.",
    )
    identity_url: str = Field(
        default=DEFAULT_IDENTITY_URL,
        description="Identity v2.0 endpoint; set it to a local cloud's URL to dry-run pipelines.",
    )
    use_internal_url: bool = Field(
        default=False,
        description="Use Cloud Files' ServiceNet URLs; only reachable from inside Rackspace.",
    )

    def credentials(self, region: str | None = None) -> Credentials:
        """The client-side credentials, optionally for another region."""
        return Credentials(
            username=self.username,
            api_key=self.api_key,
            identity_url=self.identity_url,
            region=(region or self.region or None),
            internal=self.use_internal_url,
        )

    def session(self, region: str | None = None) -> AccountSession:
        """A shared, thread-safe session for this account (one per region)."""
        return shared(
            ("session", *self._key(region)), lambda: AccountSession(self.credentials(region))
        )

    def cloud(self, region: str | None = None) -> Cloud:
        """The account in one region as the pipelines see it (shared, thread-safe)."""
        where = (region or self.effective_region).upper()
        return shared(
            ("cloud", *self._key(where)), lambda: RackspaceCloud(self.session(where), where)
        )

    def images_client(self, region: str | None = None) -> ImagesClient:
        """Cloud Images of this account in ``region`` (default: the block's)."""
        return ImagesClient(self.session(region))

    def objects_client(self, region: str | None = None) -> ObjectsClient:
        """Cloud Files of this account in ``region``; close it (or use ``with``) when done."""
        return ObjectsClient(self.session(region), region=region or self.region or None)

    def _key(self, region: str | None) -> tuple[str, ...]:
        creds = self.credentials(region)
        secret = fingerprint(self.api_key)
        return (creds.identity_url, creds.username, secret, creds.region or "", str(creds.internal))

    def region_name(self, region: str | None = None) -> str:
        """``region`` (or the block's) as Rackspace spells regions: upper case."""
        return (region or self.effective_region).upper()

    @property
    def effective_region(self) -> str:
        """The region this block works in: its own, else the account's default."""
        return (self.region or self.session().region).upper()
