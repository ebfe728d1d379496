"""The retry settings every task shares: transient errors only, zero waits when testing."""

from __future__ import annotations

from typing import Any

import pytest
from prefect.states import Completed, Failed

from cloudimages.errors import (
    ChecksumMismatch,
    DiskImageError,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    TaskFailed,
    TransportError,
)
from cloudimages.tasks import is_testing, retry_if_transient, set_testing
from cloudimages.tasks._retry import RETRIES, retry_delays


def failed_with(error: BaseException) -> Any:
    return Failed(data=error)


@pytest.mark.parametrize(
    "error",
    [
        TransportError("connection reset"),
        ServiceUnavailable("busy", status_code=503),
        RateLimited("slow down", status_code=429, retry_after=1.0),
    ],
)
def test_transient_errors_are_retried(error: BaseException) -> None:
    """Network failures, 5xx and 429 get another attempt."""
    assert retry_if_transient(None, None, failed_with(error)) is True  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "error",
    [
        NotFound("gone", status_code=404),
        ServiceUnavailable("not implemented", status_code=501),
        TaskFailed("396", task_id="t", code="396"),
        DiskImageError("corrupt"),
        ChecksumMismatch("differs", expected="a", actual="b"),
        ValueError("a bug"),
    ],
)
def test_permanent_errors_fail_at_once(error: BaseException) -> None:
    """4xx, failed tasks, bad images, mismatches and bugs are not retried."""
    assert retry_if_transient(None, None, failed_with(error)) is False  # type: ignore[arg-type]


def test_a_completed_state_is_not_retried() -> None:
    assert retry_if_transient(None, None, Completed(data=1)) is False  # type: ignore[arg-type]


def test_delays_back_off_and_read_zero_when_testing() -> None:
    """1, 2, 4 s in production; 0 s while set_testing(True) is on (as in this folder)."""
    delays = retry_delays(RETRIES)
    assert is_testing()
    assert [delays[i] for i in range(RETRIES)] == [0.0] * RETRIES
    set_testing(False)
    try:
        assert [delays[i] for i in range(RETRIES)] == [1.0, 2.0, 4.0]
    finally:
        set_testing(True)
