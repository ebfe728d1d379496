"""The retry predicate, backoff arithmetic and Retry-After parsing, without a network."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from cloudimages.client import Image, _http
from cloudimages.client.retry import (
    RetryPolicy,
    _backoff_hook,
    is_idempotent,
    is_testing,
    is_transient,
    parse_retry_after,
    retrying,
    set_testing,
)
from cloudimages.errors import (
    ApiError,
    BadRequest,
    ChecksumMismatch,
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


def _api(cls: type[ApiError], status: int) -> ApiError:
    return cls("x", status_code=status)


def _response(
    status: int, headers: dict[str, str] | None = None, **kwargs: object
) -> httpx.Response:
    request = httpx.Request("GET", "https://dfw.images.example/v2/images/abc?limit=3")
    return httpx.Response(status, headers=headers, request=request, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def testing() -> Iterator[None]:
    set_testing(True)
    yield
    set_testing(False)


@pytest.mark.parametrize(
    "error",
    [
        TransportError("connection refused"),
        ServiceUnavailable("x", status_code=500),
        ServiceUnavailable("x", status_code=503),
        RateLimited("x", status_code=429),
        RateLimited("x", status_code=413, retry_after=2.0),
    ],
)
def test_network_failures_5xx_and_rate_limits_are_transient(error: Exception) -> None:
    """Connection problems, 5xx, 429 and 413-with-Retry-After are worth retrying."""
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        _api(BadRequest, 400),
        _api(Unauthorized, 401),
        _api(Forbidden, 403),
        _api(NotFound, 404),
        _api(Conflict, 409),
        _api(OverLimit, 413),
        _api(ApiError, 415),
        ServiceUnavailable("x", status_code=501),
        ChecksumMismatch("x", expected="a", actual="b"),
        ConfigurationError("x"),
        ValueError("x"),
    ],
)
def test_other_4xx_and_programming_errors_are_not_transient(error: Exception) -> None:
    """A request the service refused will be refused again; never retry it."""
    assert not is_transient(error)


def _fail_every_time(policy: RetryPolicy, tries: list[int], error: Exception) -> None:
    for attempt in retrying(policy, "test"):
        with attempt:
            tries.append(1)
            raise error


@pytest.mark.usefixtures("testing")
def test_a_retry_loop_gives_up_after_its_attempts_and_marks_the_budget_spent() -> None:
    """attempts counts every try; the error that ends the loop is never retried again."""
    tries: list[int] = []
    with pytest.raises(ServiceUnavailable) as raised:
        _fail_every_time(RetryPolicy(attempts=3), tries, ServiceUnavailable("x", status_code=503))
    assert len(tries) == 3
    assert not is_transient(raised.value)
    assert RetryPolicy(attempts=1).retries == 0


def test_retry_after_replaces_the_wait_unless_longer_than_allowed() -> None:
    """The service's Retry-After is the wait; waiting an hour is worse than failing now."""
    hook = _backoff_hook(RetryPolicy(max_retry_after=60), "test")
    assert hook(RateLimited("x", status_code=429, retry_after=0.25)) == 0.25
    assert hook(RateLimited("x", status_code=429, retry_after=60)) == 60
    assert hook(RateLimited("x", status_code=429, retry_after=61)) is False
    assert hook(ServiceUnavailable("x", status_code=503)) is True
    assert hook(NotFound("x", status_code=404)) is False


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("3", 3.0), ("0.5", 0.5), (" 12 ", 12.0), ("-4", 0.0), ("", None), (None, None)],
)
def test_retry_after_in_seconds(header: str | None, seconds: float | None) -> None:
    """Delta-seconds are read as floats (as stamina does); negatives mean now."""
    assert parse_retry_after(header) == seconds


def test_retry_after_as_http_date() -> None:
    """An HTTP date means the seconds from now until then."""
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now=now) == 0.0
    assert parse_retry_after("not a date") is None
    assert parse_retry_after("nan") is None


@pytest.mark.parametrize(
    ("method", "idempotent"),
    [
        ("GET", True),
        ("head", True),
        ("PUT", True),
        ("DELETE", True),
        ("POST", False),
        ("PATCH", False),
    ],
)
def test_only_idempotent_methods_are_retried_automatically(method: str, idempotent: bool) -> None:
    """POST and PATCH are never replayed blindly."""
    assert is_idempotent(method) is idempotent


@pytest.mark.usefixtures("testing")
def test_testing_switch_makes_waits_zero_and_keeps_the_attempts() -> None:
    """set_testing(True) turns every wait into no wait at all; attempts stay as stated."""
    assert is_testing()
    started = datetime.now(UTC)
    tries: list[int] = []
    with pytest.raises(TransportError):
        _fail_every_time(RetryPolicy(attempts=5, base_delay=30.0), tries, TransportError("reset"))
    assert len(tries) == 5
    assert (datetime.now(UTC) - started).total_seconds() < 1


@pytest.mark.usefixtures("testing")
def test_call_with_retries_gives_up_after_the_policy_attempts() -> None:
    """The loop tries exactly ``attempts`` times, then raises the last error."""
    calls: list[int] = []

    def failing() -> str:
        calls.append(1)
        raise ServiceUnavailable("down", status_code=503)

    with pytest.raises(ServiceUnavailable):
        _http.call_with_retries(failing, policy=RetryPolicy(attempts=4), what="test")
    assert len(calls) == 4


@pytest.mark.usefixtures("testing")
def test_call_with_retries_returns_what_recover_finds() -> None:
    """After a failure that may have reached the service, its result is looked for first."""
    calls: list[int] = []

    def failing() -> str:
        calls.append(1)
        raise ServiceUnavailable("down", status_code=500)

    found = _http.call_with_retries(
        failing, policy=RetryPolicy(attempts=3), what="test", recover=lambda: "created"
    )
    assert found == "created"
    assert len(calls) == 1


def test_error_statuses_map_to_our_types_with_useful_messages() -> None:
    """The seam names method, path, status, the server's words and the request id."""
    body = {"message": "No image found with ID abc<br /><br />\n\n\n", "code": "404 Not Found"}
    headers = {"x-openstack-request-id": "req-42"}
    error = _http.api_error(_response(404, headers, json=body))
    assert isinstance(error, NotFound)
    assert str(error).startswith("GET /v2/images/abc failed with 404 Not Found: No image found")
    assert "req-42" in str(error)
    assert error.request_id == "req-42"
    assert error.url == "https://dfw.images.example/v2/images/abc"


def test_identity_fault_bodies_and_plain_text_are_read() -> None:
    """Identity's {"fault": {"message"}} and webob's text form both yield the message."""
    identity = {"unauthorized": {"code": 401, "message": "Unable to authenticate user."}}
    assert _http.server_message(_response(401, json=identity)) == "Unable to authenticate user."
    text = _response(403, text="403 Forbidden\n\nYou are not permitted.\n\n   ")
    assert _http.server_message(text) == "You are not permitted."


def test_413_is_rate_limited_only_with_retry_after() -> None:
    """Repose's 413 + Retry-After means slow down; a bare 413 is a hard quota."""
    limited = _http.api_error(_response(413, {"Retry-After": "7"}))
    assert isinstance(limited, RateLimited)
    assert limited.retry_after == 7.0
    assert isinstance(_http.api_error(_response(413)), OverLimit)
    assert isinstance(_http.api_error(_response(429)), RateLimited)
    assert isinstance(_http.api_error(_response(502)), ServiceUnavailable)


def test_tokens_never_appear_in_error_urls() -> None:
    """A token in a path (DELETE /tokens/<id>) is hidden from messages and attributes."""
    request = httpx.Request("DELETE", "https://identity.example/v2.0/tokens/s3cr3t?x=1")
    error = _http.api_error(httpx.Response(404, request=request))
    assert "s3cr3t" not in str(error)
    assert "s3cr3t" not in error.url


def test_answers_that_are_not_what_the_api_promises_are_api_errors() -> None:
    """A 200 with HTML or the wrong shape is an ApiError naming the call, not a ValueError."""
    html = _response(200, text="<html>proxy login</html>")
    with pytest.raises(ApiError, match="GET /v2/images/abc answered 200 but the body is not JSON"):
        _http.read(html, Image)
    wrong = _response(200, json={"name": "no id"})
    with pytest.raises(ApiError, match=r"does not fit the Image model \(id: Field required\)"):
        _http.read(wrong, Image)
