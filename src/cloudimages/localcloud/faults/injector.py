"""The live fault rules and task outcomes, shared by the middleware, engine and admin API."""

from __future__ import annotations

import itertools
import random
import threading
from fnmatch import fnmatchcase
from typing import TypeVar

from .models import FaultRule, TaskOutcome
from .spec import parse_spec

_Item = TypeVar("_Item", FaultRule, TaskOutcome)


class FaultInjector:
    """The live rules and task outcomes; thread-safe; ``seed`` makes rate rolls repeatable."""

    def __init__(self, *, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._ids = itertools.count(1)
        self._rules: list[FaultRule] = []
        self._outcomes: list[TaskOutcome] = []

    def add(self, rule: FaultRule) -> FaultRule:
        """Append a rule; it fires only where no earlier rule fires."""
        return self._store(self._rules, rule, "fault")

    def add_task_outcome(self, outcome: TaskOutcome) -> TaskOutcome:
        return self._store(self._outcomes, outcome, "task")

    def _store(self, items: list[_Item], item: _Item, kind: str) -> _Item:
        with self._lock:
            stored = item.model_copy(update={"id": f"{kind}-{next(self._ids)}", "fired": 0})
            items.append(stored)
            return stored.model_copy()

    def load_spec(self, text: str) -> list[FaultRule | TaskOutcome]:
        """Add everything in a start-up spec; nothing is added if any entry is invalid."""
        return [
            self.add_task_outcome(item) if isinstance(item, TaskOutcome) else self.add(item)
            for item in parse_spec(text)
        ]

    def remove(self, item_id: str) -> None:
        """Remove a rule or task outcome; KeyError if there is none with this id."""
        with self._lock:
            count = len(self._rules) + len(self._outcomes)
            self._rules = [r for r in self._rules if r.id != item_id]
            self._outcomes = [o for o in self._outcomes if o.id != item_id]
            if count == len(self._rules) + len(self._outcomes):
                msg = f"no fault rule or task outcome {item_id!r}"
                raise KeyError(msg)

    def clear(self) -> None:
        with self._lock:
            self._rules, self._outcomes = [], []

    def rules(self) -> list[FaultRule]:
        """All rules, exhausted ones included (``times == 0``)."""
        with self._lock:
            return [r.model_copy() for r in self._rules]

    def task_outcomes(self) -> list[TaskOutcome]:
        with self._lock:
            return [o.model_copy() for o in self._outcomes]

    def pick(self, service: str, method: str, path: str) -> FaultRule | None:
        """The rule that fires for this request, counted as fired; None to serve it."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(service, method, path) and self._roll(rule.rate):
                    return _fire(rule)
        return None

    def next_task_outcome(self, task_type: str) -> TaskOutcome | None:
        """How the task starting now ends, counted as used; None means it succeeds."""
        with self._lock:
            for outcome in self._outcomes:
                usable = outcome.times != 0 and fnmatchcase(task_type, outcome.task_type)
                if usable and self._roll(outcome.rate):
                    return _fire(outcome)
        return None

    def _roll(self, rate: float) -> bool:
        return rate >= 1.0 or (rate > 0 and self._random.random() < rate)


def _fire(item: _Item) -> _Item:
    item.fired += 1
    item.times = None if item.times is None else item.times - 1
    return item.model_copy()
