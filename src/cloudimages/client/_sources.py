"""Where the segments of an upload come from, as the segment pipeline sees them.

A :class:`SegmentSource` hands out the segments of some content in order, each as a
byte range of a file that upload workers read for themselves (``Segment``), and the
digests of the whole content once every byte has been read. Two kinds exist: a file
on disk (``_filesource.FileSegments``: its own ranges, plus a sequential digest pass)
and a stream spooled to disk (``_spool``: a bounded window of segment files that one
or more uploads share).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from ._hashing import Digests


@dataclass(frozen=True)
class Segment:
    """``length`` bytes of the file ``fd`` from ``offset``: segment ``index`` of the content.

    ``md5`` is known when the bytes were hashed on their way into a spool; for a file
    it is computed while the segment is sent.
    """

    index: int
    fd: int
    offset: int
    length: int
    md5: str | None = None


class SegmentSource(Protocol):
    """Segments of one content, and its digests; closed by whoever opened it."""

    def segments(self) -> Iterator[Segment]:
        """Each segment in order, once its bytes can be read (may block)."""
        ...

    def release(self, segment: Segment) -> None:
        """The caller is done with ``segment`` (its bytes may be dropped)."""
        ...

    def finish(self) -> Digests:
        """The size, md5 and sha256 of the whole content, once all of it was read.

        Raises when reading failed or the content is not what its source promised.
        """
        ...
