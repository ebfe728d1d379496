"""Range requests as Swift reads them: one range or many (``multipart/byteranges``).

A header that is not a valid ``bytes=`` range set is ignored (the whole object, 200); a
valid set that the object cannot satisfy is a 416; too many, overlapping or descending
ranges are refused the way Swift refuses them.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

MAX_RANGES = 50
MAX_RANGE_OVERLAPS = 2
MAX_NONASCENDING_RANGES = 8


class Unsatisfiable(Exception):
    """No requested range can be served from the object: answer 416."""


def parse_ranges(value: str | None) -> list[tuple[int | None, int | None]] | None:
    """The byte-range specs of a Range header, or None when it must be ignored."""
    if not value:
        return None
    value = value.replace(" ", "").replace("\t", "")
    if not value.lower().startswith("bytes="):
        return None
    specs: list[tuple[int | None, int | None]] = []
    for spec in value[6:].split(","):
        first, dash, last = spec.partition("-")
        if not dash or not (first or last):
            return None
        if (first and not first.isdigit()) or (last and not last.isdigit()):
            return None
        start, end = (int(first) if first else None), (int(last) if last else None)
        if start is not None and end is not None and end < start:
            return None
        specs.append((start, end))
    return specs


def ranges_for_length(
    specs: list[tuple[int | None, int | None]], length: int
) -> list[tuple[int, int]]:
    """Half-open spans [start, stop) to serve; empty when none is satisfiable (416)."""
    spans: list[tuple[int, int]] = []
    for start, end in specs:
        if start is None:
            if end:
                spans.append((max(0, length - (end or 0)), length))
        elif start < length:
            spans.append((start, length if end is None else min(end + 1, length)))
    if len(spans) > MAX_RANGES or _overlaps(spans) > MAX_RANGE_OVERLAPS:
        return []
    descending = any(a > b for a, b in itertools.pairwise(spans))
    if descending and len(spans) >= MAX_NONASCENDING_RANGES:
        return []
    return spans


def _overlaps(spans: list[tuple[int, int]]) -> int:
    count = 0
    for i, (s1, e1) in enumerate(spans):
        for s2, e2 in spans[i + 1 :]:
            if s1 < s2 < e1 or s1 < e2 < e1 or s2 < s1 < e2 or s2 < e1 < e2:
                count += 1
    return count


@dataclass(frozen=True)
class Multipart:
    """A ``multipart/byteranges`` body over several spans of one object."""

    spans: list[tuple[int, int]]
    length: int
    content_type: str
    boundary: str = ""

    def __post_init__(self) -> None:
        if not self.boundary:
            object.__setattr__(self, "boundary", uuid.uuid4().hex)

    @property
    def media_type(self) -> str:
        return f"multipart/byteranges;boundary={self.boundary}"

    def _part_header(self, start: int, stop: int) -> bytes:
        return (
            f"--{self.boundary}\r\nContent-Type: {self.content_type}\r\n"
            f"Content-Range: bytes {start}-{stop - 1}/{self.length}\r\n\r\n"
        ).encode("latin-1")

    @property
    def size(self) -> int:
        body = sum(len(self._part_header(a, b)) + (b - a) + 2 for a, b in self.spans)
        return body + len(self.boundary) + 4

    def body(self, read: Callable[[int, int], Iterator[bytes]]) -> Iterator[bytes]:
        """The document, reading each span with ``read(start, stop)``."""
        for start, stop in self.spans:
            yield self._part_header(start, stop)
            yield from read(start, stop)
            yield b"\r\n"
        yield f"--{self.boundary}--".encode("latin-1")
