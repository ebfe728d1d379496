"""The one seam between swiftclient and cloudimages: connections, retries, error mapping.

Every call to ``swiftclient`` goes through :meth:`SwiftSession.call` (or ``stream``),
which hands it a pooled ``Connection`` (preauth URL + current token), re-authenticates
once on 401, retries what ``retry.is_transient`` calls transient under the retry policy
(``retry.retrying``), and turns ``ClientException``, ``requests``, urllib3, http.client
and socket errors into :mod:`cloudimages.errors`.
swiftclient's own retry loop is switched off (``retries=0``): it cannot resend a bytes
body and it drops the token on 401; one explicit policy here is easier to reason about.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import requests
import urllib3.exceptions
from swiftclient.client import Connection
from swiftclient.exceptions import ClientException

from ..errors import (
    ApiError,
    BadRequest,
    ChecksumMismatch,
    CloudImagesError,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    TransportError,
    Unauthorized,
)
from .retry import RetryPolicy, parse_retry_after, retrying

T = TypeVar("T")


class TokenSource(Protocol):
    """Where the objects client gets tokens and endpoints (an account session implements it)."""

    def token(self) -> str:
        """The current token (cached; re-authenticating only when needed)."""
        ...

    def reauthenticate(self, stale: str | None = None) -> str:
        """A fresh token; when ``stale`` is no longer current, just the current one."""
        ...

    def endpoint(self, service_type: str, region: str | None = None) -> str:
        """The public URL of ``service_type`` in ``region`` (or the default region)."""
        ...


@dataclass(frozen=True)
class Target:
    """What a call acts on, for error messages: ``action`` reads like "upload of"."""

    action: str
    container: str | None = None
    obj: str | None = None
    etag: str | None = None  # the md5 we sent, so a 422 can say what was expected
    not_found: str | None = None  # what a 404 means here, when the default would mislead

    def describe(self) -> str:
        if self.obj is not None:
            return f"{self.action} object {self.obj!r} in container {self.container!r}"
        if self.container is not None:
            return f"{self.action} container {self.container!r}"
        return f"{self.action} the account"


_HINTS = {
    401: "the token was refused even after re-authenticating; check the username and API key",
    403: "this account may not do this; use the owning account or ask it for an ACL "
    "(X-Container-Read / X-Container-Write)",
    409: "the resource is not in the needed state (a non-empty container, or a segment "
    "that changed); fix that and retry",
    411: "the request had no length; this is a client bug, please report it",
    413: "it is too large for one request (Swift stores at most 5 GiB per object); "
    "upload it as segments",
}


def _not_found_hint(target: Target) -> str:
    if target.not_found is not None:
        return target.not_found
    if target.obj is not None:
        return (
            f"there is no object {target.obj!r} in container {target.container!r} "
            "(or the container is missing); check the names and the region"
        )
    return f"container {target.container!r} does not exist; create it with ensure_container()"


def translate(exc: BaseException, target: Target) -> CloudImagesError:
    """Our error for a swiftclient/requests failure, with a message naming what failed."""
    if not isinstance(exc, ClientException) or exc.http_status is None:
        reason = getattr(exc, "msg", None) or str(exc) or type(exc).__name__
        msg = f"{target.describe()} failed: {reason}. Check the network and the endpoint; retry."
        return TransportError(msg, method=target.action, url=_url_of(exc))
    status: int = exc.http_status
    headers = {k.lower(): v for k, v in (exc.http_response_headers or {}).items()}
    server = _server_text(exc.http_response_content)
    hint = _not_found_hint(target) if status == 404 else _HINTS.get(status, "")
    if status >= 500:
        hint = "the service failed; it is usually transient, retry later"
    if status in (429, 498) or (status == 413 and "retry-after" in headers):
        hint = "the service asks to slow down; retry later"
    msg = f"{target.describe()} failed: {status} {exc.http_reason}{server}"
    msg += f" (request id {exc.transaction_id})" if exc.transaction_id else ""
    msg += f". {hint[0].upper()}{hint[1:]}." if hint else "."
    if status == 422 and target.etag:
        actual = "a different md5 (the bytes changed in transit)"
        return ChecksumMismatch(msg, expected=target.etag, actual=actual)
    kwargs: dict[str, Any] = {
        "status_code": status,
        "method": target.action,
        "url": _url_of(exc),
        "request_id": exc.transaction_id,
        "body": exc.http_response_content,
    }
    if status in (429, 498) or (status == 413 and "retry-after" in headers):
        return RateLimited(msg, retry_after=parse_retry_after(headers.get("retry-after")), **kwargs)
    return _BY_STATUS.get(status, ServiceUnavailable if status >= 500 else ApiError)(msg, **kwargs)


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
}


def _server_text(content: Any) -> str:
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    text = " ".join(str(content or "").split())
    if not text or text.startswith("<html"):
        return ""
    return f" ({text[:200]})"


def _url_of(exc: BaseException) -> str:
    if isinstance(exc, ClientException) and exc.http_host:
        return f"{exc.http_scheme}://{exc.http_host}:{exc.http_port}{exc.http_path}"
    request = getattr(exc, "request", None)
    return str(getattr(request, "url", "") or "")


def delete_with_manifest(conn: Any, container: str, name: str) -> dict[str, Any]:
    """``DELETE ?multipart-manifest=delete``: the SLO and its segments, with Swift's report.

    swiftclient's ``delete_object`` drops the response body, where Swift reports
    segments it could not delete (while still answering 200), so read it here.
    """
    parsed, http = conn.http_connection()
    path = f"{parsed.path}/{quote(container)}/{quote(name)}?multipart-manifest=delete"
    try:
        http.request("DELETE", path, "", {"X-Auth-Token": conn.token, "Accept": "application/json"})
        resp = http.getresponse()
        body = resp.read()
    finally:
        http.close()
    if resp.status >= 300:
        raise ClientException.from_response(resp, "Object DELETE failed", body)
    report: dict[str, Any] = json.loads(body or b"{}")
    status = str(report.get("Response Status", "200 OK"))
    if not status.startswith("2"):
        errors = report.get("Errors") or []
        raise ClientException(
            "SLO DELETE failed",
            http_status=int(status[:3]),
            http_reason=status[4:],
            http_response_content=f"segments not deleted: {errors}",
        )
    return report


class SizedBody(Protocol):
    """A request body with a length, sent piece by piece as it is iterated."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[memoryview]: ...


def put_body(
    conn: Any,
    container: str,
    name: str,
    body: SizedBody,
    *,
    etag: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> str:
    """PUT ``body`` with a ``Content-Length``, each piece sent as the body yields it.

    swiftclient's ``put_object`` would read a file-like body 16 KiB at a time (urllib3's
    block size) and send any other iterable chunked; this keeps big pieces and a length.
    Returns the ETag Swift answered (unquoted).
    """
    if not conn.http_conn:
        conn.http_conn = conn.http_connection()
    parsed, http = conn.http_conn
    path = f"{parsed.path}/{quote(container)}/{quote(name)}"
    sent = {**(headers or {}), "X-Auth-Token": conn.token, "Content-Length": str(len(body))}
    if etag:
        sent["ETag"] = etag
    try:
        http.putrequest(path, data=body if len(body) else b"", headers=sent)
        resp = http.getresponse()
        content = resp.read()
    except BaseException:
        conn.close()  # a request cut mid-body leaves its connection unusable
        raise
    if resp.status < 200 or resp.status >= 300:
        raise ClientException.from_response(resp, "Object PUT failed", content)
    return str(resp.getheader("etag", "")).strip('"')


def _forget_response(conn: Any) -> None:
    """Drop the last response a connection keeps: through ``response.request.body`` it
    would pin the last segment sent (64 MiB by default) for as long as the connection idles."""
    http_conn = getattr(conn, "http_conn", None)
    if http_conn:
        http_conn[1].resp = None


#: What swiftclient lets escape: its own error, requests' and urllib3's (an answer cut
#: short mid-body surfaces as ``urllib3.exceptions.ProtocolError``), http.client's, sockets'.
_FOREIGN = (
    ClientException,
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)


class SwiftSession:
    """Pooled swiftclient connections to one object-store endpoint, and the call policy."""

    def __init__(
        self,
        source: TokenSource,
        *,
        region: str | None,
        policy: RetryPolicy,
        timeout: float,
    ) -> None:
        self.source = source
        self.url = source.endpoint("object-store", region).rstrip("/")
        self.policy = policy
        self._timeout = timeout
        self._idle: list[Any] = []
        self._lock = threading.Lock()

    def call(
        self, target: Target, fn: Callable[[Any], T], *, policy: RetryPolicy | None = None
    ) -> T:
        """Run ``fn(connection)`` under the retry/re-auth policy; raise our errors only.

        Every Swift call made here is a GET, HEAD, PUT or DELETE, so replaying is safe.
        A 401 re-authenticates once, within the same attempt. ``policy`` overrides the
        session's (``NO_RETRY`` where an outer loop owns the retries of a stream).
        """
        for trying in retrying(policy or self.policy, target.describe()):
            with trying:
                return self._once(target, fn)
        raise AssertionError("unreachable: retrying() returns or raises")  # pragma: no cover

    def _once(self, target: Target, fn: Callable[[Any], T]) -> T:
        token = self.source.token()
        try:
            return self._attempt(target, fn, token)
        except Unauthorized:
            return self._attempt(target, fn, self.source.reauthenticate(stale=token))

    def _attempt(self, target: Target, fn: Callable[[Any], T], token: str) -> T:
        with self._connection(token) as conn:
            try:
                return fn(conn)
            except _FOREIGN as exc:
                error = translate(exc, target)
                if isinstance(error, TransportError):
                    conn.close()
                    conn.http_conn = None
                raise error from exc

    @contextmanager
    def stream(
        self,
        target: Target,
        fn: Callable[[Any], tuple[dict[str, str], Iterator[bytes]]],
        *,
        policy: RetryPolicy | None = None,
    ) -> Iterator[tuple[dict[str, str], Iterator[bytes]]]:
        """Like :meth:`call` for a GET whose body is read later: the connection is held
        until the ``with`` block ends and failures while reading are translated too."""
        held: list[Any] = []

        def opened(_pooled: Any) -> tuple[dict[str, str], Iterator[bytes]]:
            private = self._new_connection()  # the pooled one stays free for other calls
            try:
                headers, body = fn(private)
            except BaseException:
                private.close()
                raise
            held.append(private)
            return headers, body

        headers, body = self.call(target, opened, policy=policy)
        try:
            yield headers, self._translated(body, target)
        finally:
            held[0].close()

    def _translated(self, body: Iterator[bytes], target: Target) -> Iterator[bytes]:
        try:
            yield from body
        except _FOREIGN as exc:
            raise translate(exc, target) from exc

    def _new_connection(self) -> Any:
        return Connection(
            preauthurl=self.url,
            preauthtoken=self.source.token(),
            retries=0,
            retry_on_ratelimit=False,
            timeout=self._timeout,
        )

    @contextmanager
    def _connection(self, token: str) -> Iterator[Any]:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._new_connection()
        conn.url, conn.token = self.url, token
        try:
            yield conn
        finally:
            _forget_response(conn)
            with self._lock:
                self._idle.append(conn)

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
