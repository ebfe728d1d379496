"""Fault injection: make local-cloud services fail on purpose, on demand.

Retries, re-auth and pipelines that survive transient errors are only trusted
once they have met failures they did not choose. Rules (:class:`FaultRule`)
make HTTP requests fail (``http``), task outcomes (:class:`TaskOutcome`) make
import and export tasks fail or hang (the engine asks
``FaultInjector.next_task_outcome``). They come from the start-up spec
(``--faults``, ``CLOUDIMAGES_LOCALCLOUD_FAULTS``; grammar in ``spec``) or
from the admin API under ``/admin/faults``; both validate with ``models``.
"""

from __future__ import annotations

from .http import ADMIN_PREFIX, FaultMiddleware, fault_admin_routes, reset_connection
from .injector import FaultInjector
from .models import FaultRule, TaskOutcome
from .spec import describe, parse_spec

__all__ = [
    "ADMIN_PREFIX",
    "FaultInjector",
    "FaultMiddleware",
    "FaultRule",
    "TaskOutcome",
    "describe",
    "fault_admin_routes",
    "parse_spec",
    "reset_connection",
]
