"""Request bodies read from a file by range, one reusable buffer at a time.

A segment PUT sends ``length`` bytes of a file (the image itself, or a spool file)
from ``offset``: each piece is read with ``preadv`` into a leased buffer, fed to the
hashes that want it, and handed to the HTTP library, which sends it before asking
for the next. No piece outlives its send, so a PUT holds one buffer however big its
segment is, and any number of workers can read one file at their own offsets.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Protocol

from ..errors import ChecksumMismatch


class Hasher(Protocol):
    def update(self, data: memoryview, /) -> None: ...


class LocalReadError(Exception):
    """Reading the local file failed: carried through the HTTP layer untranslated."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class RangeBody:
    """``length`` bytes of ``fd`` from ``offset`` as an iterable of buffer views.

    It has a length (so the request carries ``Content-Length``) and no ``read``
    (so the HTTP library iterates it instead of reading 16 KiB at a time).
    """

    def __init__(
        self,
        fd: int,
        offset: int,
        length: int,
        buffer: memoryview,
        hashers: Sequence[Hasher] = (),
    ) -> None:
        self._fd = fd
        self._offset = offset
        self._length = length
        self._buffer = buffer
        self._hashers = hashers

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[memoryview]:
        position, end = self._offset, self._offset + self._length
        while position < end:
            into = self._buffer[: min(len(self._buffer), end - position)]
            view = read_at(self._fd, into, position)
            for hasher in self._hashers:
                hasher.update(view)
            yield view
            position += len(view)


def read_at(fd: int, into: memoryview, position: int) -> memoryview:
    """Fill ``into`` from ``fd`` at ``position``; the file must hold that many bytes."""
    got = 0
    while got < len(into):
        try:
            count = os.preadv(fd, [into[got:]], position + got)
        except OSError as error:
            raise LocalReadError(error) from error
        if count == 0:
            msg = (
                f"the source file ended at byte {position + got} while it was read; it changed"
                " during the upload. Upload it again."
            )
            raise LocalReadError(ChecksumMismatch(msg, expected="more bytes", actual="end"))
        got += count
    return into


def hash_range(
    fd: int, offset: int, length: int, buffer: memoryview, hashers: Sequence[Hasher]
) -> None:
    """Feed ``length`` bytes of ``fd`` from ``offset`` to ``hashers``."""
    for _ in RangeBody(fd, offset, length, buffer, hashers):
        pass
