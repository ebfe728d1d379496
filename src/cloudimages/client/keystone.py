"""Keystone v3 through keystoneauth1: the identity of private and other OpenStack clouds.

keystoneauth1 is what every OpenStack client logs in with (v3 password and
application credentials, project and domain scope, re-authentication before
expiry, the catalog by region and interface); this module only holds the
credentials, turns its exceptions into ours (the one seam for that library),
and presents it as a ``TokenSession`` so the same Glance and Swift clients work
on both dialects. The service requests themselves go through our httpx client.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Literal, Self

from keystoneauth1 import exceptions as ks
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from ..errors import (
    CloudImagesError,
    ConfigurationError,
    Forbidden,
    ServiceUnavailable,
    TransportError,
    Unauthorized,
)
from ._session import TokenSession
from .retry import retrying

__all__ = ["KeystoneCredentials", "KeystoneSession"]

log = logging.getLogger("cloudimages.client")
Interface = Literal["public", "internal", "admin"]


class KeystoneCredentials(BaseModel):
    """Who to log in as on a Keystone v3 cloud: user and password, or an application credential."""

    model_config = ConfigDict(frozen=True)

    auth_url: str = Field(min_length=1, description="Keystone's URL (with or without /v3).")
    username: str | None = Field(default=None, description="The user, with a password.")
    password: SecretStr | None = Field(default=None, description="The user's password.")
    user_domain_name: str = Field(default="Default", description="The user's domain.")
    application_credential_id: str | None = Field(default=None, description="Or: its id.")
    application_credential_secret: SecretStr | None = Field(
        default=None, description="The application credential's secret."
    )
    project_name: str | None = Field(default=None, description="The project to work in.")
    project_id: str | None = Field(default=None, description="Or the project's id.")
    project_domain_name: str = Field(default="Default", description="The project's domain.")
    region: str | None = Field(default=None, description="Region; default: the only one.")
    interface: Interface = Field(default="public", description="Which catalog URLs to use.")

    @model_validator(mode="after")
    def _one_way_in(self) -> Self:
        with_password = self.username is not None and self.password is not None
        with_app_cred = (
            self.application_credential_id is not None
            and self.application_credential_secret is not None
        )
        if with_password == with_app_cred:
            msg = (
                "give either a username and password, or an application credential id and"
                " secret (not both, not neither)"
            )
            raise ValueError(msg)
        return self

    def plugin(self) -> v3.Password | v3.ApplicationCredential:
        """The keystoneauth1 plugin for these credentials."""
        url = self.auth_url.rstrip("/")
        url = url if url.endswith("/v3") else f"{url}/v3"
        if self.application_credential_secret is not None:
            return v3.ApplicationCredential(
                auth_url=url,
                application_credential_id=self.application_credential_id,
                application_credential_secret=self.application_credential_secret.get_secret_value(),
            )
        assert self.password is not None  # guaranteed by the validator
        scope: dict[str, Any] = (
            {"project_id": self.project_id}
            if self.project_id
            else {
                "project_name": self.project_name,
                "project_domain_name": self.project_domain_name,
            }
        )
        return v3.Password(
            auth_url=url,
            username=self.username,
            password=self.password.get_secret_value(),
            user_domain_name=self.user_domain_name,
            **scope,
        )

    @property
    def who(self) -> str:
        if self.application_credential_id is not None:
            return f"application credential {self.application_credential_id!r}"
        return f"user {self.username!r} (domain {self.user_domain_name!r})"


class KeystoneSession(TokenSession):
    """A Keystone v3 login shared by the Glance and Swift clients of one project."""

    def __init__(self, credentials: KeystoneCredentials, **options: Any) -> None:
        super().__init__(**options)
        self.credentials = credentials
        self._auth = credentials.plugin()
        self._session = ks_session.Session(auth=self._auth, timeout=30)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"KeystoneSession({self.credentials.who} at {self.credentials.auth_url})"

    @property
    def label(self) -> str:
        return f"Keystone {self.credentials.who}"

    def token(self) -> str:
        token: str = self._call("log in", lambda: self._auth.get_token(self._session))
        return token

    def reauthenticate(self, stale: str | None = None) -> str:
        with self._lock:
            current = self._auth.get_access(self._session).auth_token
            if stale is not None and current != stale:
                return str(current)
            self._auth.invalidate()
            return self.token()

    @property
    def tenant_id(self) -> str:
        project: str | None = self._call("log in", lambda: self._auth.get_project_id(self._session))
        if not project:
            msg = f"{self.label} is not scoped to a project; name one (project_name or project_id)"
            raise ConfigurationError(msg)
        return project

    @property
    def region(self) -> str:
        """The block's region, else the catalog's only image region (as the catalog spells it)."""
        if self.credentials.region:
            return self.credentials.region
        regions = self.regions("image")
        if len(regions) != 1:
            msg = f"{self.label}: name a region; the catalog's image regions are {regions}"
            raise ConfigurationError(msg)
        return regions[0]

    def regions(self, service_type: str) -> list[str]:
        """The regions of the catalog that have ``service_type``."""
        access = self._call("log in", lambda: self._auth.get_access(self._session))
        found = {
            str(endpoint.get("region_id") or endpoint.get("region"))
            for service in access.service_catalog.catalog
            if service.get("type") == service_type
            for endpoint in service.get("endpoints", [])
        }
        return sorted(found)

    def endpoint(self, service_type: str, region: str | None = None) -> str:
        wanted = region or self.credentials.region or self.region
        exact = {r.upper(): r for r in self.regions(service_type)}.get(wanted.upper(), wanted)
        url: str | None = self._call(
            f"find the {service_type} endpoint",
            lambda: self._auth.get_endpoint(
                self._session,
                service_type=service_type,
                region_name=exact,
                interface=self.credentials.interface,
            ),
        )
        if not url:
            msg = (
                f"the catalog of {self.label} has no {self.credentials.interface} {service_type!r}"
                f" endpoint in region {wanted}; regions with one: {self.regions(service_type)}"
            )
            raise ConfigurationError(msg)
        return url

    def _call(self, what: str, call: Any) -> Any:
        """keystoneauth1's call under the retry policy, its exceptions turned into ours."""
        for trying in retrying(self.retry, f"{what} as {self.label}"):
            with trying:
                try:
                    return call()
                except ks.ClientException as error:
                    raise self._translate(error, what) from error
        raise AssertionError("unreachable: retrying() returns or raises")  # pragma: no cover

    def _translate(self, error: ks.ClientException, what: str) -> CloudImagesError:
        where = f"Keystone at {self.credentials.auth_url}"
        said = " ".join(str(error).split())[:300]
        if isinstance(error, ks.Unauthorized):
            msg = (
                f"{where} refused {self.credentials.who} for project"
                f" {self.credentials.project_name or self.credentials.project_id!r} ({said})."
                " Check the user, password or application credential, and the user's and the"
                " project's domains."
            )
            return Unauthorized(msg, status_code=401, method="POST", url=self.credentials.auth_url)
        if isinstance(error, ks.Forbidden):
            msg = f"{where} does not let {self.credentials.who} {what} ({said})."
            return Forbidden(msg, status_code=403, method="POST", url=self.credentials.auth_url)
        if isinstance(error, ks.ConnectionError):
            msg = f"could not {what} at {where}: {said}. Check the URL and the network."
            return TransportError(msg, method="POST", url=self.credentials.auth_url)
        if isinstance(error, ks.HttpServerError):
            status = int(getattr(error, "http_status", 503) or 503)
            msg = f"{where} failed to {what} ({said}); retry later."
            return ServiceUnavailable(msg, status_code=status, url=self.credentials.auth_url)
        msg = f"could not {what} at {where}: {said}. Check the auth URL, project and region."
        return ConfigurationError(msg)
