"""The OpenStack account block: a Keystone v3 project of a private or another provider's cloud."""

from __future__ import annotations

from typing import ClassVar, Literal

from prefect.blocks.core import Block
from pydantic import Field, HttpUrl, SecretStr

from ..client import Cloud, ImagesClient
from ..client.keystone import KeystoneCredentials, KeystoneSession
from ..client.openstack import ImportMethod, OpenStackCloud
from ._shared import fingerprint, shared

__all__ = ["OpenStackAccount"]


class OpenStackAccount(Block):
    """Credentials of one project of an OpenStack cloud (Keystone v3), and the clouds they open.

    A user and password, or an application credential (preferred: it can be revoked
    alone and carries its own roles). Secrets are stored encrypted by Prefect.

    Example:
        Load a saved account and list its images:
        ```python
        from cloudimages.blocks import OpenStackAccount

        account = OpenStackAccount.load("BLOCK_NAME")
        for image in account.cloud().images.list_images():
            print(image.id, image.name)
        ```
    """

    _block_type_name: ClassVar[str] = "OpenStack Account"
    _block_type_slug: ClassVar[str] = "openstack-account"
    _logo_url: ClassVar[HttpUrl | None] = None
    _documentation_url: ClassVar[HttpUrl | None] = HttpUrl(
        "https://docs.openstack.org/keystoneauth/latest/"
    )
    _description: ClassVar[str] = (
        "A project of a private or another provider's OpenStack cloud (Keystone v3, Glance,"
        " Swift) that cloudimages pipelines import into, export from and replicate to."
    )

    auth_url: str = Field(default=..., description="Keystone's URL, e.g. https://keystone:5000/v3.")
    username: str | None = Field(default=None, description="The user (with a password).")
    password: SecretStr | None = Field(default=None, description="The user's password.")
    user_domain_name: str = Field(default="Default", description="The user's domain.")
    application_credential_id: str | None = Field(
        default=None, description="An application credential's id (instead of a user)."
    )
    application_credential_secret: SecretStr | None = Field(
        default=None, description="The application credential's secret."
    )
    project_name: str | None = Field(default=None, description="The project to work in.")
    project_id: str | None = Field(default=None, description="Or the project's id.")
    project_domain_name: str = Field(default="Default", description="The project's domain.")
    region: str | None = Field(
        default=None, description="Region to work in; empty: the catalog's only one."
    )
    interface: Literal["public", "internal", "admin"] = Field(
        default="public", description="Which of the catalog's URLs to use."
    )
    import_method: ImportMethod = Field(
        default="auto",
        description="How image data goes in: upload (PUT /file), glance-direct, or auto"
        " (glance-direct when the cloud enables it).",
    )

    def credentials(self) -> KeystoneCredentials:
        """The client-side credentials (checked: a password or an application credential)."""
        return KeystoneCredentials(
            auth_url=self.auth_url,
            username=self.username,
            password=self.password,
            user_domain_name=self.user_domain_name,
            application_credential_id=self.application_credential_id,
            application_credential_secret=self.application_credential_secret,
            project_name=self.project_name,
            project_id=self.project_id,
            project_domain_name=self.project_domain_name,
            region=self.region,
            interface=self.interface,
        )

    def session(self) -> KeystoneSession:
        """A shared, thread-safe Keystone session for this project."""
        return shared(("keystone", *self._key()), lambda: KeystoneSession(self.credentials()))

    def cloud(self, region: str | None = None) -> Cloud:
        """The project in one region as the pipelines see it (shared, thread-safe)."""
        where = region or self.effective_region
        return shared(
            ("openstack", *self._key(), where, self.import_method),
            lambda: OpenStackCloud(self.session(), where, import_method=self.import_method),
        )

    def images_client(self, region: str | None = None) -> ImagesClient:
        """Glance of this project in ``region`` (default: the block's)."""
        return self.cloud(region).images

    def region_name(self, region: str | None = None) -> str:
        """``region`` (or the block's) as the catalog spells it (``regionone`` → RegionOne)."""
        wanted = region or self.effective_region
        known = {r.upper(): r for r in self.session().regions("image")}
        return known.get(wanted.upper(), wanted)

    @property
    def effective_region(self) -> str:
        """The region this block works in: its own, else the catalog's only one."""
        return self.region or self.session().region

    def _key(self) -> tuple[str, ...]:
        who = self.username or self.application_credential_id or ""
        secret = fingerprint(self.password or self.application_credential_secret)
        scope = self.project_id or f"{self.project_domain_name}/{self.project_name}"
        return (self.auth_url, who, self.user_domain_name, secret, scope, self.interface)
