"""What a target holds (observed) and what the spec wants there (wanted), as plain models.

Images sync makes carry ``cloudimages.sync_*`` properties: the catalogue, the
image's name and version in the spec, and its content key. Only images of the
spec's catalogue are ever observed, so images of other catalogues and images
made any other way are never touched.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from ..client import Image, Member

__all__ = [
    "SYNC_CATALOG",
    "SYNC_CONTENT",
    "SYNC_NAME",
    "SYNC_VERSION",
    "ObservedImage",
    "ObservedMember",
    "TargetState",
    "WantedMember",
    "WantedVersion",
]

SYNC_CATALOG = "cloudimages.sync_catalog"
SYNC_NAME = "cloudimages.sync_name"
SYNC_VERSION = "cloudimages.sync_version"
#: ``sha256:<hex>`` of the source, or ``image:<REGION>/<id>`` for an image source without one.
SYNC_CONTENT = "cloudimages.sync_content"


class ObservedMember(BaseModel):
    """One member of an observed image."""

    member_id: str
    status: str


class ObservedImage(BaseModel):
    """One image of the catalogue in a target, as it is."""

    id: str
    name: str | None
    sync_name: str
    version: str
    content: str | None
    properties: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    min_disk: int | None = None
    min_ram: int | None = None
    hidden: bool = False
    created_at: datetime | None = None
    members: list[ObservedMember] = Field(default_factory=list)

    @classmethod
    def of(cls, image: Image, members: list[Member]) -> ObservedImage:
        props = image.properties
        return cls(
            id=image.id,
            name=image.name,
            sync_name=str(props.get(SYNC_NAME, "")),
            version=str(props.get(SYNC_VERSION, "")),
            content=props.get(SYNC_CONTENT),
            properties={k: v for k, v in image.model_dump().items() if isinstance(v, str)},
            tags=list(image.tags),
            min_disk=image.min_disk,
            min_ram=image.min_ram,
            hidden=props.get("os_hidden") is True,
            created_at=image.created_at,
            members=[ObservedMember(member_id=m.member_id, status=m.status) for m in members],
        )


class TargetState(BaseModel):
    """One target (an account block in a region) and the catalogue's images in it."""

    account: str
    region: str
    tenant_id: str
    can_hide: bool = Field(description="Whether its images have os_hidden.")
    images: list[ObservedImage] = Field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.account}/{self.region}"


class WantedMember(BaseModel):
    """A consumer of an image in one region: its member id, and its block when given."""

    member_id: str
    account: str | None = None

    @property
    def label(self) -> str:
        return self.account or self.member_id


class WantedVersion(BaseModel):
    """One declared version of an image, as a target must hold it."""

    name: str
    version: str
    image_name: str
    content: str
    properties: dict[str, str] = Field(description="Spec properties and the sync properties.")
    tags: list[str] = Field(default_factory=list)
    min_disk: int | None = None
    min_ram: int | None = None
    members: list[WantedMember] = Field(default_factory=list)
