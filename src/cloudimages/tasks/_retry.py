"""How every cloudimages task retries: transient errors only, with backoff, testable.

One predicate decides what is worth another attempt: ``cloudimages.client.is_transient``
(network failures, 5xx, 429). Everything else (a 4xx, a failed import task, a corrupt
disk image, a checksum mismatch) fails the task at once with its own clear message.

``set_testing(True)`` makes every retry wait zero seconds, and task polling fast,
while keeping the number of attempts, so fault-injection tests run quickly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ParamSpec, SupportsIndex, TypeVar, overload

from prefect import Task, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun
from prefect.tasks import exponential_backoff

from ..client import is_transient
from ..client import set_testing as set_client_testing

__all__ = [
    "RETRIES",
    "RetryDelays",
    "is_testing",
    "poll_interval",
    "retry_if_transient",
    "set_testing",
    "step",
]

P = ParamSpec("P")
R = TypeVar("R")

#: Prefect-level attempts after the first; the client already retries single calls.
RETRIES = 3
JITTER_FACTOR = 0.2
#: Seconds between the first polls of an import/export task; it grows to MAX_POLL_INTERVAL.
POLL_INTERVAL = 2.0
MAX_POLL_INTERVAL = 30.0
_TEST_POLL_INTERVAL = 0.1

_testing = threading.Event()


def set_testing(testing: bool) -> None:
    """Make retry waits zero and task polling fast (``True``), or real again (``False``).

    Also flips ``cloudimages.client.set_testing``, so one switch covers both layers.
    """
    if testing:
        _testing.set()
    else:
        _testing.clear()
    set_client_testing(testing)


def is_testing() -> bool:
    return _testing.is_set()


def poll_interval() -> tuple[float, float]:
    """The first and the longest wait between two polls of a task, in seconds."""
    if is_testing():
        return _TEST_POLL_INTERVAL, _TEST_POLL_INTERVAL
    return POLL_INTERVAL, MAX_POLL_INTERVAL


class RetryDelays(list[float]):
    """Exponential retry delays that read as zero while ``set_testing(True)`` is on.

    Prefect reads ``task.retry_delay_seconds[n]`` at the moment it schedules retry
    ``n``, so the switch works on tasks decorated long before it was flipped.
    """

    @overload
    def __getitem__(self, index: SupportsIndex) -> float: ...
    @overload
    def __getitem__(self, index: slice) -> list[float]: ...
    def __getitem__(self, index: SupportsIndex | slice) -> float | list[float]:
        value = super().__getitem__(index)
        if is_testing():
            return 0.0 if not isinstance(value, list) else [0.0] * len(value)
        return value


def retry_delays(retries: int = RETRIES) -> RetryDelays:
    """1 s, 2 s, 4 s… (``exponential_backoff`` with factor 1), one per retry."""
    return RetryDelays(exponential_backoff(backoff_factor=1.0)(retries))


def retry_if_transient(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Prefect's ``retry_condition_fn``: retry only errors ``is_transient`` accepts."""
    error = state.result(raise_on_failure=False)
    return isinstance(error, BaseException) and is_transient(error)


def step(name: str, *, retries: int = RETRIES) -> Callable[[Callable[P, R]], Task[P, R]]:
    """``@task`` with our retry settings; results are small and never cached.

    Caching is off on purpose: every step finds its own earlier work in the
    cloud (an image by its source sha256, a task by its input, stored
    segments), which a rerun in another process can see too.
    """
    return task(
        name=name,
        retries=retries,
        retry_delay_seconds=retry_delays(retries),
        retry_jitter_factor=JITTER_FACTOR,
        retry_condition_fn=retry_if_transient,
        cache_policy=NO_CACHE,
        persist_result=False,
    )
