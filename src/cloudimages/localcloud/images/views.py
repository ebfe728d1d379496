"""Who may see an image, and how an image looks on the wire."""

from __future__ import annotations

from typing import Any

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
