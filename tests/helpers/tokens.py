"""Test-only token sources for ``ObjectsClient``: they log in over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Callable

from tests.helpers.identity import Session, login


class IdentityTokenSource:
    """Logs in to an Identity v2.0 service with an API key; counts logins."""

    def __init__(self, identity_url: str, username: str, api_key: str) -> None:
        self._identity_url = identity_url
        self._username = username
        self._api_key = api_key
        self._lock = threading.Lock()
        self._session: Session | None = None
        self._token: str | None = None
        self.logins = 0

    def token(self) -> str:
        with self._lock:
            if self._token is None:
                self._login()
            assert self._token is not None
            return self._token

    def reauthenticate(self, stale: str | None = None) -> str:
        with self._lock:
            if self._token is None or stale is None or stale == self._token:
                self._login()
            assert self._token is not None
            return self._token

    def endpoint(self, service_type: str, region: str | None = None) -> str:
        self.token()
        assert self._session is not None
        chosen = region or self._session.access["user"]["RAX-AUTH:defaultRegion"]
        return self._session.endpoint(service_type, chosen)

    def spoil(self, token: str = "not-a-valid-token") -> None:
        """Make the cached token one the service refuses, as an expired one would be."""
        with self._lock:
            self._token = token

    def _login(self) -> None:
        self._session = login(self._identity_url, self._username, self._api_key)
        self._token = self._session.token
        self.logins += 1


class StaticTokenSource:
    """A storage URL and token from elsewhere (Swift tempauth); ``relogin`` renews them."""

    def __init__(self, storage_url: str, token: str, relogin: Callable[[], str]) -> None:
        self._storage_url = storage_url
        self._token = token
        self._relogin = relogin
        self._lock = threading.Lock()
        self.logins = 1

    def token(self) -> str:
        return self._token

    def reauthenticate(self, stale: str | None = None) -> str:
        with self._lock:
            if stale is None or stale == self._token:
                self._token = self._relogin()
                self.logins += 1
            return self._token

    def endpoint(self, service_type: str, region: str | None = None) -> str:
        assert service_type == "object-store", service_type
        return self._storage_url

    def spoil(self, token: str = "not-a-tempauth-token") -> None:
        """Make the cached token one the service refuses."""
        with self._lock:
            self._token = token
