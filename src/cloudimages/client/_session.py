"""What every service client needs from a logged-in account, whatever the identity service.

``TokenSession`` holds the HTTP client and the retry policy, and sends
authenticated requests: a 401 leads to one re-authentication and one more try,
transient failures are retried under the policy where that is safe. A dialect's
session (Rackspace Identity v2.0 in ``identity.py``, Keystone v3 in
``keystone.py``) says how to get a token and where the services are.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from ..errors import ServiceUnavailable, TransportError, Unauthorized
from ._http import QueryParams, Timeouts, build_client, call_with_retries, request_was_sent, send
from .retry import NO_RETRY, RetryPolicy, is_idempotent

log = logging.getLogger("cloudimages.client")


class TokenSession(ABC):
    """An authenticated, thread-safe connection to one account's services."""

    def __init__(
        self,
        *,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.http = build_client(timeouts=timeouts, transport=transport)

    # what a dialect provides ------------------------------------------------------
    @abstractmethod
    def token(self) -> str:
        """A token that is not about to expire; logs in first if needed."""

    @abstractmethod
    def reauthenticate(self, stale: str | None = None) -> str:
        """A fresh token because ``stale`` was refused (no second login if it was replaced)."""

    @abstractmethod
    def endpoint(self, service_type: str, region: str | None = None) -> str:
        """The catalog URL of a service (``image``, ``object-store``) in a region."""

    @property
    @abstractmethod
    def region(self) -> str:
        """The region calls go to unless told otherwise, upper case."""

    @property
    @abstractmethod
    def tenant_id(self) -> str:
        """The account (tenant, project) id: the image owner and member id."""

    @property
    @abstractmethod
    def label(self) -> str:
        """Who this session logs in as, for messages (never a secret)."""

    # lifecycle --------------------------------------------------------------------
    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # requests --------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        *,
        params: QueryParams | None = None,
        json: Any = None,
        content: bytes | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        retry: bool | None = None,
        ok_statuses: Collection[int] = (),
    ) -> httpx.Response:
        """Send an authenticated request, retrying where that is safe.

        A 401 leads to one re-authentication and one more try (the service
        refused the request before acting, so this holds for POST too).
        Transient failures are retried under the session's policy when the
        method is idempotent, or when ``retry=True``. A DELETE that meets 404
        after an attempt that may have reached the service counts as done.
        """
        policy = self.retry if (is_idempotent(method) if retry is None else retry) else NO_RETRY
        gone_ok = False

        def once() -> httpx.Response:
            nonlocal gone_ok
            extra = {404} if gone_ok else set()
            try:
                return self._authorized(
                    lambda token: send(
                        self.http,
                        method,
                        url,
                        headers={**(headers or {}), "X-Auth-Token": token},
                        params=params,
                        json=json,
                        content=content,
                        ok_statuses={*ok_statuses, *extra},
                    )
                )
            except (TransportError, ServiceUnavailable) as error:
                gone_ok = method.upper() == "DELETE" and request_was_sent(error)
                raise

        what = f"{method} {httpx.URL(url).path}"
        return call_with_retries(once, policy=policy, what=what)

    def _authorized(self, call: Callable[[str], httpx.Response]) -> httpx.Response:
        token = self.token()
        try:
            return call(token)
        except Unauthorized:
            log.info("token refused by the service; logging in again")
            return call(self.reauthenticate(token))
