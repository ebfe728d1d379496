"""Rackspace Identity v2.0: log in with an API key, keep the token fresh, find endpoints.

One ``AccountSession`` per account is meant to be shared: parallel pipeline
tasks call ``request`` from many threads, and the session authenticates once,
refreshes the token shortly before it expires, and re-authenticates once per
stale token when a service answers 401 (whichever thread notices first).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Self

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from ..errors import ConfigurationError, Unauthorized
from ._http import (
    Timeouts,
    call_with_retries,
    json_of,
    send,
)
from ._session import TokenSession
from .models import Access, Endpoint
from .retry import RetryPolicy

log = logging.getLogger("cloudimages.client")

DEFAULT_IDENTITY_URL = "https://identity.api.rackspacecloud.com/v2.0"


class Credentials(BaseModel):
    """Who to log in as, and where.

    The API key is used when given, else the password. ``region`` overrides the
    account's default region; ``internal`` picks Cloud Files' ServiceNet URL
    (free and faster inside a Rackspace data centre) when the catalog has one.
    """

    model_config = ConfigDict(frozen=True)

    username: str = Field(min_length=1, description="The Rackspace username.")
    api_key: SecretStr | None = Field(default=None, description="The account's API key.")
    password: SecretStr | None = Field(default=None, description="Used only without an API key.")
    identity_url: str = Field(default=DEFAULT_IDENTITY_URL, description="Identity v2.0 root.")
    region: str | None = Field(default=None, description="Region; default: the account's.")
    internal: bool = Field(default=False, description="Use internalURL for object-store.")

    @model_validator(mode="after")
    def _has_a_secret(self) -> Self:
        if self.api_key is None and self.password is None:
            msg = f"user {self.username!r} has neither an API key nor a password; give one"
            raise ValueError(msg)
        return self

    def auth_body(self) -> dict[str, Any]:
        """The ``POST /tokens`` body: ``RAX-KSKEY:apiKeyCredentials`` or ``passwordCredentials``."""
        if self.api_key is not None:
            creds = {"username": self.username, "apiKey": self.api_key.get_secret_value()}
            return {"auth": {"RAX-KSKEY:apiKeyCredentials": creds}}
        assert self.password is not None  # guaranteed by the validator
        creds = {"username": self.username, "password": self.password.get_secret_value()}
        return {"auth": {"passwordCredentials": creds}}

    @property
    def secret_kind(self) -> str:
        return "API key" if self.api_key is not None else "password"


class AccountSession(TokenSession):
    """An authenticated, thread-safe connection to one account's services.

    Example:
        >>> creds = Credentials(username="alice", api_key="...")  # doctest: +SKIP
        >>> with AccountSession(creds) as session:  # doctest: +SKIP
        ...     print(session.endpoint("image"))
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        refresh_margin: float = 300.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(retry=retry, timeouts=timeouts, transport=transport)
        self.credentials = credentials
        self.refresh_margin = refresh_margin
        self._lock = threading.Lock()
        self._current: tuple[Access, float] | None = None  # login, refresh margin
        self.authentications = 0  # how many times this session logged in; for diagnostics

    def __repr__(self) -> str:
        return f"AccountSession(username={self.credentials.username!r})"

    # tokens ----------------------------------------------------------------------
    def token(self) -> str:
        """A token that is not about to expire; logs in first if needed."""
        current = self._current
        if current is not None and self._fresh(*current):
            return current[0].token.id.get_secret_value()
        with self._lock:
            current = self._current
            if current is None or not self._fresh(*current):
                return self._authenticate().token.id.get_secret_value()
            return current[0].token.id.get_secret_value()

    def reauthenticate(self, stale: str | None = None) -> str:
        """Log in again because ``stale`` was refused; returns the new token.

        If another thread replaced ``stale`` meanwhile, its token is returned
        and no second login happens. ``stale=None`` always logs in again.
        """
        with self._lock:
            current = self._current
            if current is not None and stale is not None:
                token = current[0].token.id.get_secret_value()
                if token != stale:
                    return token
            return self._authenticate().token.id.get_secret_value()

    @staticmethod
    def _fresh(access: Access, margin: float) -> bool:
        return access.token.seconds_left() > margin

    def _authenticate(self) -> Access:
        """``POST /tokens``; the caller holds the lock."""
        url = f"{self.credentials.identity_url.rstrip('/')}/tokens"
        body = self.credentials.auth_body()
        what = f"log in as {self.credentials.username!r}"
        try:
            response = call_with_retries(
                lambda: send(self.http, "POST", url, json=body), policy=self.retry, what=what
            )
        except Unauthorized as error:
            kind = self.credentials.secret_kind
            msg = (
                f"Identity at {self.credentials.identity_url} refused user "
                f"{self.credentials.username!r} with the {kind} given ({error}). "
                f"Check the username and {kind} (Cloud Control Panel > Account Settings)."
            )
            raise Unauthorized(
                msg,
                status_code=error.status_code,
                method=error.method,
                url=error.url,
                request_id=error.request_id,
            ) from error
        try:
            access = Access.from_wire(json_of(response))
        except (ValueError, KeyError, TypeError) as error:
            msg = f"Identity at {url} answered 200 but not with an access document: {error}"
            raise ConfigurationError(msg) from error
        # Refresh ``refresh_margin`` before expiry, but never in the first half of the
        # token's life, so a short-lived token does not cause a login per call.
        lifetime = max(access.token.seconds_left(), 0.0)
        self._current = (access, min(self.refresh_margin, lifetime / 2))
        self.authentications += 1
        log.debug("logged in as %r (login #%d)", self.credentials.username, self.authentications)
        return access

    @property
    def access(self) -> Access:
        """The current login (token, user, catalog); logs in first if needed."""
        self.token()
        assert self._current is not None
        return self._current[0]

    # catalog ---------------------------------------------------------------------
    @property
    def region(self) -> str:
        """The region calls go to unless told otherwise: Credentials.region, else the default."""
        chosen = self.credentials.region or self.access.default_region
        if not chosen:
            regions = ", ".join(self._regions("image")) or "none"
            msg = (
                f"account {self.credentials.username!r} has no default region; "
                f"pass region= (available: {regions})"
            )
            raise ConfigurationError(msg)
        return chosen.upper()

    @property
    def label(self) -> str:
        return f"Rackspace user {self.credentials.username!r}"

    @property
    def tenant_id(self) -> str:
        """The account number (the Cloud Images owner and member id)."""
        return self.access.token.tenant_id

    def endpoint(self, service_type: str, region: str | None = None) -> str:
        """The catalog URL of a service (``image``, ``object-store``) in a region."""
        chosen = self._endpoint(service_type, region)
        if service_type == "object-store" and self.credentials.internal and chosen.internal_url:
            return chosen.internal_url
        return chosen.public_url

    def storage_account(self, region: str | None = None) -> str:
        """The Cloud Files account name (``MossoCloudFS_...``): the storage URL's last segment."""
        url = self._endpoint("object-store", region).public_url
        return httpx.URL(url).path.rstrip("/").rsplit("/", 1)[-1]

    def _endpoint(self, service_type: str, region: str | None) -> Endpoint:
        wanted = (region or self.region).upper()
        of_type = [e for e in self.access.catalog if e.service_type == service_type]
        if not of_type:
            types = ", ".join(sorted({e.service_type for e in self.access.catalog})) or "none"
            msg = (
                f"the catalog of account {self.credentials.username!r} has no "
                f"{service_type!r} service (it has: {types})"
            )
            raise ConfigurationError(msg)
        for endpoint in of_type:
            if (endpoint.region or "").upper() == wanted:
                return endpoint
        msg = (
            f"account {self.credentials.username!r} has no {service_type!r} endpoint in "
            f"region {wanted}; available regions: {', '.join(self._regions(service_type))}. "
            "Pass another region."
        )
        raise ConfigurationError(msg)

    def _regions(self, service_type: str) -> list[str]:
        of_type = [e for e in self.access.catalog if e.service_type == service_type]
        return sorted({e.region.upper() for e in of_type if e.region})
