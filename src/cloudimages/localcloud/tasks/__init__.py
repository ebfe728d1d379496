"""Cloud Images import/export tasks: the HTTP routes and the engine that runs them."""

from .api import task_routes
from .engine import TaskEngine, TaskFaults, TaskOutcome

__all__ = ["TaskEngine", "TaskFaults", "TaskOutcome", "task_routes"]
