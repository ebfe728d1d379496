"""The process-wide memory budget of transfers: reusable buffers, and slots for other bytes.

Every buffer an upload, copy or digest pass holds comes from one :class:`BufferPool`
(``TRANSFER_BUFFERS``), so the bytes in flight are bounded for the whole process,
however many uploads run and however big their content is. A holder never waits for
anything but its own I/O while it holds a buffer, so the pool cannot deadlock; when
it is exhausted, transfers slow down instead of growing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .units import MiB

#: Bytes per buffer: one read from a file or a spool, one send to Swift, one hash update.
DEFAULT_CHUNK = MiB
#: Bytes all transfers of the process may hold in buffers at once.
DEFAULT_BUDGET = 32 * MiB


class BufferPool:
    """At most ``budget // chunk`` buffers of ``chunk`` bytes in use at once, reused.

    ``lease()`` lends a buffer; ``slot()`` counts bytes a library allocated (a chunk
    of an HTTP response) against the same budget, without a buffer.
    """

    def __init__(self, budget: int = DEFAULT_BUDGET, chunk: int = DEFAULT_CHUNK) -> None:
        if chunk < 4096 or budget < chunk:
            msg = f"a transfer budget of {budget} bytes cannot hold one {chunk}-byte buffer"
            raise ValueError(msg)
        self.chunk = chunk
        self.slots = budget // chunk
        self._free = self.slots
        self._idle: list[bytearray] = []
        self._ready = threading.Condition()
        self.peak = 0  # most slots in use at once, for tests and benchmarks

    @contextmanager
    def lease(self) -> Iterator[memoryview]:
        """A buffer of ``chunk`` bytes for the duration of the block."""
        self._take()
        with self._ready:
            buffer = self._idle.pop() if self._idle else bytearray(self.chunk)
        try:
            yield memoryview(buffer)
        finally:
            with self._ready:
                self._idle.append(buffer)
            self._give()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Room for ``chunk`` bytes held elsewhere (an idle buffer is dropped to make it)."""
        self.take_slot()
        try:
            yield
        finally:
            self.give_slot()

    def take_slot(self) -> None:
        """Like :meth:`slot`, for a holder that gives the room back from another thread."""
        self._take()

    def try_take_slot(self) -> bool:
        """Take a slot if one is free now; False (and nothing taken) otherwise."""
        with self._ready:
            if self._free == 0:
                return False
            self._taken()
            return True

    def give_slot(self) -> None:
        self._give()

    @property
    def in_use(self) -> int:
        with self._ready:
            return self.slots - self._free

    def _take(self) -> None:
        with self._ready:
            while self._free == 0:
                self._ready.wait()
            self._taken()

    def _taken(self) -> None:
        """Count one slot more in use (``_ready`` held)."""
        self._free -= 1
        self.peak = max(self.peak, self.slots - self._free)
        del self._idle[self._free :]  # idle buffers + used slots never exceed the budget

    def _give(self) -> None:
        with self._ready:
            self._free += 1
            self._ready.notify()


TRANSFER_BUFFERS = BufferPool()


def set_transfer_budget(budget: int, *, chunk: int = DEFAULT_CHUNK) -> None:
    """Replace the process-wide budget (before transfers start; running ones keep theirs)."""
    global TRANSFER_BUFFERS  # noqa: PLW0603  (the one process-wide pool, replaced on purpose)
    TRANSFER_BUFFERS = BufferPool(budget, chunk)


def transfer_buffers() -> BufferPool:
    """The pool in force now (read at the start of each transfer)."""
    return TRANSFER_BUFFERS
