"""The retry policy of cloudimages: what is retried, where, and how many times.

Every transient failure is retried in exactly one place, with a stated budget
(``docs/reliability.md`` has the table):

- **One request** (an HTTP call to Identity, Cloud Images or Cloud Files) is
  retried by the client, here, under a ``RetryPolicy``: 5 attempts in all and at
  most 120 s of retrying, backing off exponentially, honouring ``Retry-After``.
- **One stream** (a URL download, an object copied across regions, a download)
  is retried as a whole by the code that reads it, with the same policy; the
  requests inside it are not retried again.
- **Polling** a task tolerates transient failures of single polls until its
  deadline (``imagetasks.wait_for_task``); the polls themselves are not retried.
- Pipeline steps (Prefect tasks) never retry: a rerun of the flow resumes.

The loop is stamina's (``retry_context``); ``set_testing(True)`` keeps every
attempt and makes every wait zero, like ``stamina.set_testing``. An error that
used up its budget is marked (``budget_spent``) so that no outer loop retries
it again: that is what makes "exactly one place" hold even for nested calls.

Which methods are retried automatically: GET, HEAD, OPTIONS, PUT and DELETE
(RFC 9110 idempotent methods). Not POST, and not PATCH: a Glance JSON patch
with ``add`` or ``remove`` fails with 409 when replayed after it took effect.
``ImagesClient.update_image`` retries at a higher level instead (it re-reads
the image and sends only what is still different), and creating a task or a
member looks for the result of the failed attempt before trying again.
"""

from __future__ import annotations

import email.utils
import logging
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TypeVar

import stamina
from pydantic import BaseModel, ConfigDict, Field

from ..errors import RateLimited, ServiceUnavailable, TransportError

__all__ = [
    "IDEMPOTENT_METHODS",
    "NO_RETRY",
    "RetryPolicy",
    "is_idempotent",
    "is_testing",
    "is_transient",
    "parse_retry_after",
    "poll_schedule",
    "retrying",
    "set_testing",
]

T = TypeVar("T")
log = logging.getLogger("cloudimages.client")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_SPENT = "budget_spent"
#: Attempts kept while testing: stamina then caps, never raises, the configured number.
_TEST_ATTEMPTS_CAP = 1_000


# Our own log line per failed attempt (in ``_backoff_hook``) names the operation;
# stamina's default instrumentation would add an anonymous one.
stamina.instrumentation.set_on_retry_hooks([])


def set_testing(testing: bool) -> None:
    """Make every retry wait zero seconds (``True``), keeping the number of attempts."""
    stamina.set_testing(testing, attempts=_TEST_ATTEMPTS_CAP, cap=True)


def is_testing() -> bool:
    """Whether ``set_testing(True)`` is in force."""
    return stamina.is_testing()


#: Waits between polls of a cloud's long task (an import, an export, a Glance import):
#: the first after 1 s, each 25 % longer, so a finished task is seen at most about a
#: quarter of the time waited late; at most one poll every 30 s (Rackspace's advice)
#: once the task has run for about two and a half minutes.
POLL_FIRST, POLL_GROWTH, POLL_LONGEST = 1.0, 1.25, 30.0


def poll_schedule() -> tuple[float, float, float]:
    """(first wait, growth, longest wait) for polling a task; 0.1 s flat while testing."""
    return (0.1, 1.0, 0.1) if is_testing() else (POLL_FIRST, POLL_GROWTH, POLL_LONGEST)


class RetryPolicy(BaseModel):
    """The budget of one retried operation: attempts, total time, and the waits between.

    The wait after failed attempt ``n`` is ``base_delay * 2 ** (n - 1)``, capped at
    ``max_delay``, plus up to ``jitter`` seconds so parallel workers do not retry in
    lockstep. A ``Retry-After`` from the service replaces the computed wait; one
    longer than ``max_retry_after`` is not waited for and the error is raised.

    Example:
        >>> RetryPolicy(attempts=1).retries
        0
    """

    model_config = ConfigDict(frozen=True)

    attempts: int = Field(default=5, ge=1, le=100, description="Tries in all, the first included.")
    timeout: float = Field(
        default=120.0, gt=0, description="No new attempt starts after this many seconds, s."
    )
    base_delay: float = Field(default=0.5, ge=0, description="Wait before the first retry, s.")
    max_delay: float = Field(default=30.0, ge=0, description="Longest computed wait, s.")
    jitter: float = Field(default=0.5, ge=0, description="Random extra wait, up to this, s.")
    max_retry_after: float = Field(
        default=300.0, ge=0, description="Longest Retry-After honoured; longer ones are raised."
    )

    @property
    def retries(self) -> int:
        """Attempts after the first."""
        return self.attempts - 1


NO_RETRY = RetryPolicy(attempts=1)


def is_transient(error: BaseException) -> bool:
    """Whether retrying the same request later may well succeed.

    Transient: the network failed (connection refused or reset, an answer cut
    short, timeouts), the service failed (5xx except 501), or it asked us to
    slow down (429, or 413 with Retry-After; both arrive as ``RateLimited``).
    Never any other 4xx: the request itself is wrong and will be wrong again.
    Never an error whose retry budget was spent already (see the module doc).
    """
    if getattr(error, _SPENT, False):
        return False
    if isinstance(error, TransportError | RateLimited):
        return True
    if isinstance(error, ServiceUnavailable):
        return error.status_code != 501
    return False


def is_idempotent(method: str) -> bool:
    """Whether the method may be replayed automatically (see the module docstring)."""
    return method.upper() in IDEMPOTENT_METHODS


def retry_after_of(error: BaseException) -> float | None:
    """The wait a ``RateLimited`` or 503 error asked for, in seconds."""
    value = getattr(error, "retry_after", None)
    return float(value) if isinstance(value, int | float) else None


def _backoff_hook(policy: RetryPolicy, what: str) -> Callable[[Exception], bool | float]:
    """stamina's ``on``: False ends the loop; a float is the wait Retry-After asked for."""
    failures = 0

    def hook(error: Exception) -> bool | float:
        nonlocal failures
        failures += 1
        if not is_transient(error):
            return False
        wait = retry_after_of(error)
        if wait is not None and wait > policy.max_retry_after:
            return False
        if failures < policy.attempts:
            log.warning("%s: attempt %d of %d failed (%s)", what, failures, policy.attempts, error)
        return True if wait is None else wait

    return hook


def retrying(policy: RetryPolicy, what: str) -> Iterator[stamina.Attempt]:
    """Attempts of one operation under ``policy``: ``for attempt in retrying(...): with attempt:``.

    When the loop gives up, the error it raises is marked as having spent its
    budget, so no caller retries it again. A loop of one attempt (``NO_RETRY``)
    marks nothing: it says the caller is the place that retries.
    """
    attempts = stamina.retry_context(
        on=_backoff_hook(policy, what),
        attempts=policy.attempts,
        timeout=policy.timeout,
        wait_initial=policy.base_delay,
        wait_max=policy.max_delay,
        wait_jitter=policy.jitter,
    )
    try:
        yield from attempts
    except Exception as error:
        if policy.attempts > 1 and is_transient(error):
            setattr(error, _SPENT, True)
            log.warning("%s: giving up after %d attempt(s): %s", what, policy.attempts, error)
        raise


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    Returns None when the header is absent or unreadable; a date in the past is 0.

    Example:
        >>> parse_retry_after("2.5")
        2.5
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until(text, now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _seconds_until(http_date: str, now: datetime | None) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    moment = now or datetime.now(UTC)
    return max(0.0, (when - moment).total_seconds())
