"""Who may see an image, and how an image looks on the wire."""

from __future__ import annotations

from typing import Any

from .errors import Forbidden, NotFound
from .store import ImageRecord, ImageStore


def image_view(record: ImageRecord) -> dict[str, Any]:
    """The API form: null fields omitted (as Juno-era Glance does), links added."""
    out = {k: v for k, v in record.doc.items() if v is not None and not k.startswith("_")}
    out["self"] = f"/v2/images/{record.id}"
    out["file"] = f"/v2/images/{record.id}/file"
    out["schema"] = "/v2/schemas/image"
    return out


def can_see(store: ImageStore, record: ImageRecord, tenant: str) -> bool:
    """Owner, public, or a member with any status may read an image by id."""
    if record.owner == tenant or record.doc.get("visibility") == "public":
        return True
    return store.member(record.id, tenant) is not None


def visible_image(store: ImageStore, image_id: str, tenant: str) -> ImageRecord:
    """The image if this tenant may see it; 404 otherwise (never 403: no existence leak)."""
    record = store.get_image(image_id)
    if record is None or not can_see(store, record, tenant):
        raise NotFound(f"No image found with ID {image_id}")
    return record


def owned_image(store: ImageStore, image_id: str, tenant: str, action: str) -> ImageRecord:
    """The image if this tenant owns it; 403 if it can only see it, 404 if not even that."""
    record = visible_image(store, image_id, tenant)
    if record.owner != tenant:
        raise Forbidden(f"You are not permitted to {action} image {image_id}.")
    return record
