"""How every pipeline step runs: a Prefect task that never retries and never caches.

Retries live in one place, the client (``cloudimages.client.retry``): a step is
one or a few client calls, each already retried under its budget, so a step
that fails has failed for good and says why. Rerunning the flow resumes: every
step finds its own earlier work in the cloud (an image by its source sha256, a
task by the marker next to its bytes, stored segments), which a rerun in another
process sees too; that is also why results are never cached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from prefect import Task, task
from prefect.cache_policies import NO_CACHE

__all__ = ["step"]

P = ParamSpec("P")
R = TypeVar("R")


def step(name: str) -> Callable[[Callable[P, R]], Task[P, R]]:
    """``@task`` with the pipeline settings: no retries, no cache, no persisted result."""
    return task(name=name, retries=0, cache_policy=NO_CACHE, persist_result=False)
