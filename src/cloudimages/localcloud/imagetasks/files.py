"""Task bytes moved in as few passes as the work allows.

An import or export imitates one conversion and one checksum, so that is what
its bytes should cost. A source held whole in one blob is hard-linked, not
copied (blobs are never changed in place, and the link keeps a deleted one
readable); the pieces of a large object are joined by the kernel
(``copy_file_range``), never through Python; digests read a file once, in
large chunks, into one reused buffer.
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Callable, Iterator
from io import BufferedIOBase
from pathlib import Path

from ..objects.blobs import BlobStore
from ..objects.largeobjects import Piece

READ_SIZE = 1024 * 1024
KERNEL_COPY_SIZE = 64 * 1024 * 1024
# copy_file_range cannot serve this pair of files: copy through user space instead
_NO_KERNEL_COPY = frozenset({errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL})

Checkpoint = Callable[[], None]


class SourceRemoved(Exception):
    """A blob the source was resolved to is gone (its object was deleted meanwhile)."""


def stage(blobs: BlobStore, pieces: list[Piece], target: Path, checkpoint: Checkpoint) -> None:
    """Make ``target`` hold the bytes of ``pieces``: a hard link when one whole blob holds them."""
    if len(pieces) == 1 and pieces[0].data is None and _link_whole(blobs, pieces[0], target):
        return
    with target.open("wb") as out:
        for piece in pieces:
            if piece.data is not None:  # an SLO's inline ``data`` segment
                out.write(piece.data[piece.start : piece.stop])
                continue
            _append(blobs.path(piece.blob), piece.start, piece.size, out.fileno(), checkpoint)


def md5_of(path: Path, checkpoint: Checkpoint) -> tuple[str, int]:
    """The md5 and length of a whole file, read once."""
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    with path.open("rb") as f:
        for chunk in read_range(f, 0, None, checkpoint):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def read_range(
    f: BufferedIOBase, start: int, length: int | None, checkpoint: Checkpoint
) -> Iterator[memoryview]:
    """Bytes ``[start, start + length)`` of ``f`` (to its end when None), in large chunks.

    Each chunk is a view of one reused buffer: use it before taking the next.
    """
    buffer = bytearray(READ_SIZE)
    view = memoryview(buffer)
    f.seek(start)
    remaining = length
    while remaining is None or remaining > 0:
        wanted = READ_SIZE if remaining is None else min(READ_SIZE, remaining)
        got = f.readinto(view[:wanted])
        if not got:
            return
        if remaining is not None:
            remaining -= got
        yield view[:got]
        checkpoint()


def _link_whole(blobs: BlobStore, piece: Piece, target: Path) -> bool:
    """Hard-link the piece's blob to ``target`` if the piece is all of it; False otherwise."""
    source = blobs.path(piece.blob)
    try:
        if piece.start != 0 or source.stat().st_size != piece.stop:
            return False
        os.link(source, target)
    except FileNotFoundError as err:
        raise SourceRemoved(piece.blob) from err
    except OSError:  # another file system, or links not allowed here: copy instead
        return False
    return True


def _append(source: Path, start: int, length: int, out: int, checkpoint: Checkpoint) -> None:
    """Append bytes ``[start, start + length)`` of ``source`` to the open file ``out``."""
    try:
        fd = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError as err:
        raise SourceRemoved(source.name) from err
    try:
        offset, stop = start, start + length
        while offset < stop:
            copied = _copy(fd, out, offset, min(KERNEL_COPY_SIZE, stop - offset))
            if copied == 0:  # shorter than its record says; the checks that follow will see it
                return
            offset += copied
            checkpoint()
    finally:
        os.close(fd)


def _copy(source: int, out: int, offset: int, count: int) -> int:
    """Copy up to ``count`` bytes at ``offset`` to ``out``'s position: in the kernel if it can."""
    try:
        return os.copy_file_range(source, out, count, offset)
    except OSError as err:
        if err.errno not in _NO_KERNEL_COPY:
            raise
    data = os.pread(source, min(count, READ_SIZE), offset)
    view = memoryview(data)
    while view:
        view = view[os.write(out, view) :]
    return len(data)
