"""One upstream Glance region's shared parts: its store, data, staging area and settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..images.errors import Conflict
from ..images.store import ImageRecord, ImageStore, now_iso
from ..objects.blobs import BlobStore
from .dialect import UpstreamDialect
from .ingest import Quota
from .inspect import HeaderSniffer, InspectorFactory


@dataclass
class GlanceRegion:
    """What the data and import handlers of one region work with."""

    name: str
    url: str  # scheme://host:port of this Glance
    store: ImageStore
    blobs: BlobStore
    staging: Path
    dialect: UpstreamDialect
    import_methods: tuple[str, ...]
    quota: Quota
    store_ids: str = "fs"
    inspector: InspectorFactory = field(default=HeaderSniffer)

    def headers(self) -> dict[str, str]:
        """What Glance adds to a create response: how data may come in, and where to."""
        return {
            "OpenStack-image-import-methods": ",".join(self.import_methods),
            "OpenStack-image-store-ids": self.store_ids,
        }

    def staging_path(self, image_id: str) -> Path:
        self.staging.mkdir(parents=True, exist_ok=True)
        return self.staging / image_id

    def transition(self, record: ImageRecord, source: str, target: str) -> None:
        """Move the image from ``source`` to ``target`` status, or Glance's 409."""
        status = record.doc.get("status")
        if status != source:
            raise Conflict(f"Image status transition from {status} to {target} is not allowed")
        record.doc.update(status=target, updated_at=now_iso())
        self.store.put_image(record)

    def restore(self, image_id: str, source: str, target: str, **changes: object) -> None:
        """Put an image back (e.g. saving -> queued) after a failure, if it still exists."""
        current = self.store.get_image(image_id)
        if current is not None and current.doc.get("status") == source:
            current.doc.update(status=target, updated_at=now_iso(), **changes)
            self.store.put_image(current)

    def forget(self, record: ImageRecord) -> None:
        """After a delete: the stored data and any staged data go too."""
        self.blobs.delete(record.blob)
        self.staging_path(record.id).unlink(missing_ok=True)
