"""The one seam between httpx and the rest of cloudimages.

``build_client`` makes the ``httpx.Client`` every service client shares (time
limits, user agent, JSON accept). ``send`` performs one request and turns
every httpx exception and every error status into a ``cloudimages.errors``
type whose message names the method, the URL path, the status, the service's
own message and its request id, and never a token or a key.
``call_with_retries`` runs one call under the retry policy (``retry.py``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from importlib import metadata
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import (
    ApiError,
    BadRequest,
    CloudImagesError,
    ConfigurationError,
    Conflict,
    Forbidden,
    NotFound,
    OverLimit,
    RateLimited,
    ServiceUnavailable,
    TransportError,
    Unauthorized,
)
from .retry import RetryPolicy, parse_retry_after, retrying

log = logging.getLogger("cloudimages.client")

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
QueryParams = Mapping[str, str | int] | Sequence[tuple[str, str | int]]

_REQUEST_ID_HEADERS = (
    "x-openstack-request-id",
    "x-compute-request-id",
    "x-trans-id",
    "x-request-id",
    "request-id",
)
_STATUS_ERRORS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    429: RateLimited,
}
_HINTS = {
    401: "The token or the credentials were refused.",
    403: "This account may not do this: it is not the owner, or its role is too weak.",
    404: "It does not exist in this region, or this account cannot see it.",
    409: "The resource exists already, or is not in the state this call needs.",
    413: "A quota or size limit was reached; remove something first.",
    429: "The service is rate limiting this account; slow down.",
}
_MAX_MESSAGE = 500


def _version() -> str:
    try:
        return metadata.version("cloudimages")
    except metadata.PackageNotFoundError:  # running from a source tree without metadata
        return "0+unknown"


USER_AGENT = f"cloudimages/{_version()}"


class Timeouts(BaseModel):
    """Time limits of every HTTP request, in seconds.

    ``read`` bounds the wait for each chunk of an answer, not the whole call,
    so a long listing is fine while a silent server is not.
    """

    model_config = ConfigDict(frozen=True)

    connect: float = Field(default=10.0, gt=0, description="To open a connection.")
    read: float = Field(default=60.0, gt=0, description="Between bytes of an answer.")
    write: float = Field(default=60.0, gt=0, description="Between bytes of a request.")
    pool: float = Field(default=10.0, gt=0, description="To get a connection from the pool.")

    def to_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


def build_client(
    *, timeouts: Timeouts | None = None, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """A thread-safe ``httpx.Client`` with our user agent and time limits."""
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    limits = httpx.Limits(max_connections=50, max_keepalive_connections=20)
    return httpx.Client(
        headers=headers,
        timeout=(timeouts or Timeouts()).to_httpx(),
        transport=transport,
        limits=limits,
        follow_redirects=False,
    )


def send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    params: QueryParams | None = None,
    json: Any = None,
    content: bytes | Iterable[bytes] | None = None,
    ok_statuses: Collection[int] = (),
) -> httpx.Response:
    """Send one request; return a success response or raise our error for it.

    ``ok_statuses`` are error statuses the caller handles itself (returned, not raised).
    """
    try:
        request = client.build_request(
            method, url, headers=headers, params=_query(params), json=json, content=content
        )
        response = client.send(request)
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        raise transport_error(error, method, url) from error
    if response.is_error and response.status_code not in ok_statuses:
        raise api_error(response)
    return response


def _query(params: QueryParams | None) -> str | None:
    if params is None:
        return None
    items = list(params.items()) if isinstance(params, Mapping) else list(params)
    return urlencode(items) if items else None


def transport_error(error: Exception, method: str, url: str) -> CloudImagesError:
    """Our error for an httpx exception raised before an answer came."""
    where = f"{method} {_safe_url(url)}"
    if isinstance(error, httpx.UnsupportedProtocol | httpx.InvalidURL):
        msg = f"{where}: the URL is not usable ({error}). Check the identity URL or endpoint."
        return ConfigurationError(msg)
    if isinstance(error, httpx.LocalProtocolError):
        msg = f"{where}: the request could not be sent as built ({error}); check header values."
        return ConfigurationError(msg)
    if isinstance(error, httpx.TimeoutException):
        phase = type(error).__name__.removesuffix("Timeout").lower() or "request"
        msg = f"{where} timed out ({phase}). The service is slow or unreachable; retry later."
    elif isinstance(error, httpx.ConnectError):
        msg = f"{where}: could not connect ({error}). Check the URL and the network."
    elif isinstance(error, httpx.ReadError | httpx.WriteError | httpx.RemoteProtocolError):
        msg = f"{where}: the connection broke before an answer came ({error or 'reset'})."
    else:
        msg = f"{where} failed: {type(error).__name__}: {error}"
    return TransportError(msg, method=method, url=_safe_url(url))


def request_was_sent(error: BaseException) -> bool:
    """Whether the service may have acted on a request that failed with ``error``.

    False only when we know it did not: the connection never opened, or the
    service refused it outright (rate limit, 4xx).
    """
    if isinstance(error, TransportError):
        cause = error.__cause__
        return not isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    return isinstance(error, ServiceUnavailable)


def api_error(response: httpx.Response) -> ApiError:
    """Our error for an error status, with the service's message and request id."""
    status = response.status_code
    method = response.request.method
    url = _safe_url(str(response.request.url))
    request_id = next(
        (response.headers[h] for h in _REQUEST_ID_HEADERS if h in response.headers), None
    )
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    reason = response.reason_phrase or httpx.codes.get_reason_phrase(status)
    said = server_message(response)
    msg = f"{method} {httpx.URL(url).path} failed with {status} {reason}"
    if said:
        msg += f": {said.rstrip('.')}"
    if request_id:
        msg += f" (request id {request_id})"
    hint = _hint(status, retry_after)
    msg += f". {hint}" if hint else "."
    kwargs: dict[str, Any] = {
        "status_code": status,
        "method": method,
        "url": url,
        "request_id": request_id,
        "body": _body(response),
    }
    if status == 429 or (status == 413 and retry_after is not None):
        return RateLimited(msg, retry_after=retry_after, **kwargs)
    if status == 413:
        return OverLimit(msg, **kwargs)
    if status >= 500:
        return ServiceUnavailable(msg, **kwargs)
    return _STATUS_ERRORS.get(status, ApiError)(msg, **kwargs)


def _hint(status: int, retry_after: float | None) -> str:
    if status in (413, 429) and retry_after is not None:
        return f"The service asks to retry after {retry_after:g} s."
    if status >= 500:
        return "The service failed; this is usually transient, retry later."
    return _HINTS.get(status, "")


def server_message(response: httpx.Response) -> str:
    """The service's explanation, whatever shape it came in (Glance, Identity, text)."""
    doc = _body(response)
    said: Any = None
    if isinstance(doc, dict):
        said = doc.get("message") or doc.get("details")
        inner = next(iter(doc.values()), None) if len(doc) == 1 else None
        if said is None and isinstance(inner, dict):
            said = inner.get("message") or inner.get("details")
    if not isinstance(said, str):
        said = response.text if doc is None else ""
        first, _, rest = said.strip().partition("\n")
        if first.startswith(str(response.status_code)) and rest.strip():
            said = rest  # webob's text form: "403 Forbidden\n\n<explanation>"
    text = " ".join(said.replace("<br />", " ").split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _body(response: httpx.Response) -> Any:
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        return response.json()
    except ValueError:
        return None


def json_of(response: httpx.Response) -> Any:
    """The JSON body of a success response; ``ApiError`` if it is not JSON."""
    try:
        return response.json()
    except ValueError as error:
        raise bad_answer(response, "is not JSON") from error


def read(response: httpx.Response, model: type[M], doc: Any = None) -> M:
    """The body (or ``doc`` taken from it) as ``model``; ``ApiError`` if it does not fit."""
    try:
        return model.model_validate(json_of(response) if doc is None else doc)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        problem = f"does not fit the {model.__name__} model ({where}: {first['msg']})"
        raise bad_answer(response, problem) from error


def bad_answer(response: httpx.Response, problem: str) -> ApiError:
    """The error for a success status whose body is not what the API promises."""
    url = _safe_url(str(response.request.url))
    msg = (
        f"{response.request.method} {httpx.URL(url).path} answered {response.status_code} but "
        f"the body {problem}. Check the endpoint URL; a proxy may be answering instead."
    )
    return ApiError(msg, status_code=response.status_code, method=response.request.method, url=url)


_TOKEN_IN_PATH = re.compile(r"(/tokens/)[^/?#]+")


def _safe_url(url: str) -> str:
    """The URL without query (it may hold signatures) and with any token hidden."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "<invalid URL>"
    path = _TOKEN_IN_PATH.sub(r"\1<token>", parsed.path)
    return str(parsed.copy_with(query=None, fragment=None, path=path))


def call_with_retries(
    attempt: Callable[[], T],
    *,
    policy: RetryPolicy,
    what: str,
    recover: Callable[[], T | None] | None = None,
) -> T:
    """Run ``attempt`` until it succeeds, the error is not transient, or the budget is spent.

    ``recover`` is for calls that are not idempotent (creating a task, adding a
    member): after a transient failure the service may have done the work
    anyway, so before the next attempt ``recover`` looks for its result and, if
    found, that is returned instead of trying again.
    """
    maybe_done = False
    for trying in retrying(policy, what):
        with trying:
            if maybe_done and recover is not None:
                found = recover()
                if found is not None:
                    log.warning("%s: found the result of the failed attempt; not retrying", what)
                    return found
            try:
                return attempt()
            except (TransportError, ApiError) as error:
                maybe_done = request_was_sent(error)
                raise
    raise AssertionError("unreachable: retrying() returns or raises")  # pragma: no cover
