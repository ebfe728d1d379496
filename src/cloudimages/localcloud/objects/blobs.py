"""Object bytes on disk, written so that no partial upload is ever visible.

Bytes stream into a temporary file while their md5 is computed in the same
pass; only a finished, verified upload is renamed into place and handed to
the metadata store. An aborted or interrupted upload deletes its temp file.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from .limits import CHUNK_SIZE


class BlobWriter:
    """One upload in progress: append chunks, then commit or abort."""

    def __init__(self, blobs: BlobStore) -> None:
        self._blobs = blobs
        self.blob_id = uuid.uuid4().hex
        self._tmp = blobs.tmp_dir / self.blob_id
        self._file = open(self._tmp, "wb")  # noqa: SIM115 - closed in commit/abort
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self._md5.update(chunk)
        self.size += len(chunk)

    @property
    def etag(self) -> str:
        return self._md5.hexdigest()

    def commit(self) -> str:
        """Move the finished bytes into the store and return their blob id."""
        self._file.close()
        os.replace(self._tmp, self._blobs.path(self.blob_id))
        return self.blob_id

    def abort(self) -> None:
        self._file.close()
        self._tmp.unlink(missing_ok=True)


class BlobStore:
    """A flat directory of immutable blobs named by random ids."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp_dir = root / "tmp"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        for leftover in self.tmp_dir.iterdir():  # uploads cut off by a crash or stop
            leftover.unlink(missing_ok=True)

    def path(self, blob_id: str) -> Path:
        shard = self.root / blob_id[:2]
        shard.mkdir(exist_ok=True)
        return shard / blob_id

    def writer(self) -> BlobWriter:
        return BlobWriter(self)

    def write_bytes(self, data: bytes) -> tuple[str, str, int]:
        """Store small server-made content (manifests); returns (blob, md5, size)."""
        writer = self.writer()
        writer.write(data)
        return writer.commit(), writer.etag, writer.size

    def read_bytes(self, blob_id: str) -> bytes:
        return self.path(blob_id).read_bytes()

    def iter_range(self, blob_id: str, start: int, stop: int) -> Iterator[bytes]:
        """Yield bytes [start, stop) of a blob in bounded chunks."""
        with open(self.path(blob_id), "rb") as f:
            f.seek(start)
            remaining = stop - start
            while remaining > 0:
                chunk = f.read(min(CHUNK_SIZE, remaining))
                if not chunk:
                    return
                remaining -= len(chunk)
                yield chunk

    def delete(self, blob_id: str | None) -> None:
        if blob_id:
            self.path(blob_id).unlink(missing_ok=True)
