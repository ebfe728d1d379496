"""When to retry a failed call, and how long to wait first.

One predicate, ``is_transient``, decides what is worth retrying; one policy,
``RetryPolicy``, decides how often and how long to wait. Both work on *our*
errors (``cloudimages.errors``), so they apply the same way to every call,
whichever library failed underneath.

Which methods are retried automatically: GET, HEAD, OPTIONS, PUT and DELETE
(RFC 9110 idempotent methods). Not POST, and not PATCH: a Glance JSON patch
with ``add`` or ``remove`` fails with 409 when replayed after it took effect.
``ImagesClient.update_image`` retries at a higher level instead (it re-reads
the image and sends only what is still different), and creating a task or a
member looks for the result of the failed attempt before trying again.

Tests call ``set_testing(True)`` so that every wait is zero while the number
of attempts stays the same (like stamina's ``set_testing``).
"""

from __future__ import annotations

import email.utils
import math
import random
import threading
import time
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from ..errors import RateLimited, ServiceUnavailable, TransportError

__all__ = [
    "IDEMPOTENT_METHODS",
    "RetryPolicy",
    "is_idempotent",
    "is_testing",
    "is_transient",
    "parse_retry_after",
    "set_testing",
    "sleep",
]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

_testing = threading.Event()


def set_testing(testing: bool) -> None:
    """Make every retry wait zero seconds (``True``), or real again (``False``)."""
    if testing:
        _testing.set()
    else:
        _testing.clear()


def is_testing() -> bool:
    """Whether ``set_testing(True)`` is in force."""
    return _testing.is_set()


def sleep(seconds: float) -> None:
    """Wait between attempts, unless the test switch is on."""
    if seconds > 0 and not is_testing():
        time.sleep(seconds)


class RetryPolicy(BaseModel):
    """How many times to try a transient failure, and how to space the attempts.

    The wait before attempt ``n + 1`` is ``base_delay * 2 ** (n - 1)``, capped at
    ``max_delay``, plus a uniform random ``[0, jitter]`` seconds so that parallel
    workers do not retry in lockstep. A ``Retry-After`` from the service replaces
    the computed wait; one longer than ``max_retry_after`` is not waited for and
    the error is raised instead.

    Example:
        >>> RetryPolicy(attempts=1).retries
        0
    """

    model_config = ConfigDict(frozen=True)

    attempts: int = Field(default=5, ge=1, le=100, description="Tries in all, the first included.")
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

    def backoff(self, attempt: int) -> float:
        """The wait after failed attempt number ``attempt`` (1-based), without jitter."""
        exponent = min(max(attempt - 1, 0), 62)
        return float(min(self.max_delay, self.base_delay * 2.0**exponent))

    def delay(self, attempt: int, *, retry_after: float | None = None) -> float:
        """The wait after failed attempt ``attempt``: Retry-After if given, else backoff."""
        if retry_after is not None:
            return max(0.0, retry_after)
        return self.backoff(attempt) + random.uniform(0.0, self.jitter)

    def should_retry(self, error: BaseException, *, attempt: int) -> bool:
        """Whether to try again after ``error`` ended attempt ``attempt``."""
        if attempt >= self.attempts or not is_transient(error):
            return False
        wait = retry_after_of(error)
        return wait is None or wait <= self.max_retry_after


NO_RETRY = RetryPolicy(attempts=1)


def is_transient(error: BaseException) -> bool:
    """Whether retrying the same request later may well succeed.

    Transient: the network failed (connection refused or reset, read/write
    errors, timeouts), the service failed (5xx except 501), or it asked us to
    slow down (429, or 413 with Retry-After; both arrive as ``RateLimited``).
    Never any other 4xx: the request itself is wrong and will be wrong again.
    """
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
