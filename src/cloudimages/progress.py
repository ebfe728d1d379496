"""Progress of the work in this process, for a person watching a terminal.

Pipeline steps open a *phase* around work that takes a while (a conversion, an
upload, a download, a wait for a cloud task) and feed it bytes done or a status;
the CLI subscribes and draws progress bars. The flows run in the CLI's own
process, so this is a plain in-process channel: no Prefect, no threads of its own,
nothing imported from the rest of the package, so that every layer may publish
(the client reports a task's status while it polls, the one place that sees it).

When nobody listens, publishing costs a lock and a check (served and worker runs
have no listener). Prefect's progress artifacts, for the UI, are separate.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Literal

__all__ = [
    "Phase",
    "Unit",
    "Update",
    "current",
    "phase",
    "report_status",
    "subscribe",
    "tee",
]

Unit = Literal["bytes", "wait"]
Listener = Callable[["Update"], None]
#: Updates of one phase closer together than this are dropped (the last one never is).
MIN_INTERVAL = 0.05


@dataclass(frozen=True)
class Update:
    """What a phase looks like now; every update repeats all of it."""

    phase: int  # one number per phase: one bar
    title: str
    unit: Unit  # "bytes": done/total are bytes; "wait": a status and the time elapsed
    done: int = 0
    total: int | None = None
    status: str | None = None
    finished: bool = False
    ok: bool = True  # False when the phase ended with an exception


_listeners: list[Listener] = []
_listeners_lock = threading.Lock()
_numbers = itertools.count(1)
_current: ContextVar[Phase | None] = ContextVar("cloudimages_progress_phase", default=None)


@contextmanager
def subscribe(listener: Listener) -> Iterator[None]:
    """Call ``listener`` (from any thread) with every update published while inside."""
    with _listeners_lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _listeners_lock:
            _listeners.remove(listener)


def _publish(update: Update) -> None:
    with _listeners_lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(update)


class Phase:
    """One piece of work being watched; a ``(done, total)`` callable for the client.

    The client's byte callbacks (``client.Progress``) may be called from its
    worker threads, so updates are serialised here.
    """

    def __init__(self, title: str, *, unit: Unit, total: int | None, status: str | None) -> None:
        self._state = Update(next(_numbers), title, unit, total=total, status=status)
        self._lock = threading.Lock()
        self._sent_at = 0.0

    @property
    def state(self) -> Update:
        return self._state

    def __call__(self, done: int, total: int | None = None) -> None:
        """Bytes done so far (of ``total``, when it is known by now)."""
        self._change(done=done, total=self._state.total if total is None else total)

    def percent(self, value: float) -> None:
        """``value`` percent of the total done (qemu-img reports its progress so)."""
        if self._state.total is not None:
            self._change(done=int(self._state.total * min(value, 100.0) / 100.0))

    def status(self, text: str) -> None:
        """What the awaited thing says it is doing (a task's status)."""
        if text != self._state.status:
            self._change(status=text, force=True)

    def finish(self, *, ok: bool) -> None:
        done = self._state.total if ok and self._state.total is not None else self._state.done
        self._change(done=done, finished=True, ok=ok, force=True)

    def _change(self, *, force: bool = False, **fields: object) -> None:
        with self._lock:
            if self._state.finished:
                return
            self._state = replace(self._state, **fields)  # type: ignore[arg-type]
            now = time.monotonic()
            if not force and now - self._sent_at < MIN_INTERVAL:
                return
            self._sent_at = now
            update = self._state
        _publish(update)


@contextmanager
def phase(
    title: str, *, unit: Unit = "bytes", total: int | None = None, status: str | None = None
) -> Iterator[Phase]:
    """Watch the work inside: published when it starts, as it goes and when it ends.

    The phase is also this context's *current* one (see :func:`report_status`).
    """
    opened = Phase(title, unit=unit, total=total, status=status)
    token = _current.set(opened)
    _publish(opened.state)
    ok = False
    try:
        yield opened
        ok = True
    finally:
        _current.reset(token)
        opened.finish(ok=ok)


def current() -> Phase | None:
    """The phase the calling code runs inside, if any (to pass on as a byte callback)."""
    return _current.get()


def report_status(text: str) -> None:
    """Tell the current phase, if there is one, what the awaited thing's status is."""
    found = _current.get()
    if found is not None:
        found.status(text)


def tee(*callbacks: Callable[[int, int | None], None]) -> Callable[[int, int | None], None]:
    """One ``(done, total)`` callback that calls each of ``callbacks`` in turn."""

    def call(done: int, total: int | None) -> None:
        for callback in callbacks:
            callback(done, total)

    return call
