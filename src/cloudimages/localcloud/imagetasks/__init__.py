"""Cloud Images import/export tasks (the API resource, not Prefect's): routes and engine."""

from .api import task_routes
from .engine import TaskEngine, TaskFaults, TaskOutcome

__all__ = ["TaskEngine", "TaskFaults", "TaskOutcome", "task_routes"]
