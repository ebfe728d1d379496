"""Image bytes into the region's store: hashed, inspected and size-checked in one pass.

Uploads, staged imports and web-downloads all end here. Bytes stream into a temporary
blob while md5 (``checksum``), sha512 (``os_hash_value``) and the format inspector see
them; the quota is checked as they arrive. Only a complete, accepted image is committed;
on any failure the temporary file is gone and the caller restores the image record.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from ..images.errors import OverLimit
from ..images.store import ImageRecord, ImageStore, now_iso
from ..objects.blobs import BlobStore, BlobWriter
from .inspect import InspectorFactory, verdict

HASH_ALGO = "sha512"
IMAGE_SIZE_CAP = 1024**4  # Glance's image_size_cap default: 1 TiB


@dataclass(frozen=True)
class Ingested:
    """A committed image file and what Glance records about it."""

    blob: str
    size: int
    checksum: str
    hash_value: str
    virtual_size: int | None


class Quota:
    """Glance's ``user_storage_quota``: bytes one project may keep in this region."""

    def __init__(self, store: ImageStore, limit: int | None) -> None:
        self.store = store
        self.limit = limit

    def remaining(self, owner: str, exclude: str) -> int | None:
        if self.limit is None:
            return None
        used = sum(
            int(r.doc.get("size") or 0)
            for r in self.store.all_images()
            if r.owner == owner and r.id != exclude and r.blob is not None
        )
        return max(0, self.limit - used)

    def check(self, owner: str, image_id: str, size: int) -> None:
        """413 as Glance words it when ``size`` more bytes would pass the quota."""
        self.check_room(size, self.remaining(owner, image_id))

    @staticmethod
    def check_room(size: int, left: int | None) -> None:
        """The same check against room looked up once (per upload, not per chunk)."""
        if left is not None and size > left:
            msg = (
                f"Image exceeds the storage quota: The size of the data {size} will exceed"
                f" the limit. {left} bytes remaining."
            )
            raise OverLimit(msg)
        if size > IMAGE_SIZE_CAP:
            raise OverLimit(f"The incoming image is too large: {size} > {IMAGE_SIZE_CAP}")


class Ingest:
    """One image file being written; ``write`` chunks, then ``finish`` or ``abort``."""

    def __init__(
        self, blobs: BlobStore, inspector: InspectorFactory, quota: Quota, record: ImageRecord
    ) -> None:
        self._writer: BlobWriter = blobs.writer()
        self._sha = hashlib.sha512()
        self._inspector = inspector()
        self._record = record
        self._left = quota.remaining(record.owner, record.id)

    @property
    def size(self) -> int:
        return self._writer.size

    def write(self, chunk: bytes) -> None:
        self._writer.write(chunk)
        self._sha.update(chunk)
        self._inspector.feed(chunk)
        Quota.check_room(self._writer.size, self._left)

    def finish(self) -> Ingested:
        """Judge the format as Glance does, then commit the bytes (415 leaves nothing)."""
        doc = self._record.doc
        try:
            virtual = verdict(
                self._inspector.result(),
                disk_format=str(doc.get("disk_format")),
                container_format=doc.get("container_format"),
                size=self._writer.size,
            )
        except BaseException:
            self.abort()
            raise
        checksum, size = self._writer.etag, self._writer.size
        return Ingested(self._writer.commit(), size, checksum, self._sha.hexdigest(), virtual)

    def abort(self) -> None:
        self._writer.abort()


def activate(record: ImageRecord, done: Ingested, stores: str) -> dict[str, Any]:
    """The image document once its data is in: active, sized, hashed, in ``stores``."""
    doc = dict(record.doc)
    doc.update(
        status="active",
        size=done.size,
        virtual_size=done.virtual_size,
        checksum=done.checksum,
        os_hash_algo=HASH_ALGO,
        os_hash_value=done.hash_value,
        stores=stores,
        updated_at=now_iso(),
    )
    return doc
