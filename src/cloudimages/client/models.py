"""The wire shapes of Identity v2.0 and Cloud Images v2, as pydantic models.

Fields the service may omit (Juno-era Glance drops ``null`` fields) are
optional. Image custom properties are kept (``extra="allow"``) and listed by
``Image.properties``. Link fields (``self``, ``file``, ``schema``) are
host-relative paths and are exposed as ``self_link``, ``file_link`` and
``schema_link``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = [
    "Access",
    "Endpoint",
    "Image",
    "ImageList",
    "Member",
    "MemberList",
    "MemberStatus",
    "Task",
    "TaskList",
    "Token",
]

MemberStatus = Literal["pending", "accepted", "rejected"]

_WIRE = ConfigDict(populate_by_name=True, extra="ignore")


class Token(BaseModel):
    """An Identity token: a secret id and the moment it stops working."""

    model_config = ConfigDict(frozen=True)

    id: SecretStr
    expires: datetime
    tenant_id: str
    tenant_name: str | None = None
    authenticated_by: tuple[str, ...] = ()

    def seconds_left(self, now: datetime | None = None) -> float:
        """Seconds until ``expires``; negative once it has passed."""
        return (self.expires - (now or datetime.now(UTC))).total_seconds()


class Endpoint(BaseModel):
    """One region's endpoint of one catalog service."""

    model_config = ConfigDict(frozen=True)

    service_type: str
    service_name: str
    region: str | None = None
    tenant_id: str | None = None
    public_url: str
    internal_url: str | None = None


class Access(BaseModel):
    """What a successful ``POST /v2.0/tokens`` says: token, user and catalog."""

    model_config = ConfigDict(frozen=True)

    token: Token
    user_id: str | None = None
    username: str | None = None
    default_region: str | None = None
    roles: tuple[str, ...] = ()
    catalog: tuple[Endpoint, ...] = ()

    @classmethod
    def from_wire(cls, doc: dict[str, Any]) -> Access:
        """Read the ``{"access": {...}}`` body of Identity v2.0."""
        access = doc["access"]
        token, user = access["token"], access.get("user") or {}
        tenant = token.get("tenant") or {}
        return cls(
            token=Token(
                id=token["id"],
                expires=token["expires"],
                tenant_id=str(tenant.get("id", "")),
                tenant_name=tenant.get("name"),
                authenticated_by=tuple(token.get("RAX-AUTH:authenticatedBy") or ()),
            ),
            user_id=user.get("id"),
            username=user.get("name"),
            default_region=user.get("RAX-AUTH:defaultRegion") or None,
            roles=tuple(r.get("name", "") for r in user.get("roles") or ()),
            catalog=tuple(_endpoints(access.get("serviceCatalog") or [])),
        )


def _endpoints(catalog: list[dict[str, Any]]) -> list[Endpoint]:
    return [
        Endpoint(
            service_type=service.get("type", ""),
            service_name=service.get("name", ""),
            region=entry.get("region"),
            tenant_id=entry.get("tenantId"),
            public_url=entry["publicURL"],
            internal_url=entry.get("internalURL"),
        )
        for service in catalog
        for entry in service.get("endpoints") or ()
        if entry.get("publicURL")
    ]


class Image(BaseModel):
    """A Cloud Images image; custom properties are kept as extra fields."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    id: str
    name: str | None = None
    status: str | None = None
    visibility: str | None = None
    protected: bool = False
    checksum: str | None = None
    size: int | None = None
    virtual_size: int | None = None
    container_format: str | None = None
    disk_format: str | None = None
    min_disk: int | None = None
    min_ram: int | None = None
    owner: str | None = None
    tags: list[str] = Field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    architecture: str | None = None
    os_distro: str | None = None
    os_version: str | None = None
    kernel_id: str | None = None
    ramdisk_id: str | None = None
    instance_uuid: str | None = None
    direct_url: str | None = None
    locations: list[Any] | None = None
    self_link: str | None = Field(default=None, alias="self")
    file_link: str | None = Field(default=None, alias="file")
    schema_link: str | None = Field(default=None, alias="schema")

    @property
    def properties(self) -> dict[str, Any]:
        """The custom properties (``os_type``, ``com.example.role``, ...), by name."""
        return dict(self.model_extra or {})


class ImageList(BaseModel):
    """One page of ``GET /images``; ``next`` is absent on the last page."""

    model_config = _WIRE

    images: list[Image]
    first: str | None = None
    next: str | None = None
    schema_link: str | None = Field(default=None, alias="schema")


class Member(BaseModel):
    """One consumer of a shared image, and whether it accepted the offer."""

    model_config = _WIRE

    image_id: str
    member_id: str
    status: MemberStatus
    created_at: datetime | None = None
    updated_at: datetime | None = None
    schema_link: str | None = Field(default=None, alias="schema")


class MemberList(BaseModel):
    """``GET /images/{id}/members``: not paged."""

    model_config = _WIRE

    members: list[Member]
    schema_link: str | None = Field(default=None, alias="schema")


_ERROR_CODE = re.compile(r"Error code:\s*'?(\d+)'?")


class Task(BaseModel):
    """An import or export task; list entries carry no input, result or message."""

    model_config = _WIRE

    id: str
    type: str
    status: str
    input: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    message: str | None = None
    owner: str | None = None
    expires_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    self_link: str | None = Field(default=None, alias="self")
    schema_link: str | None = Field(default=None, alias="schema")

    @property
    def reason(self) -> str | None:
        """The failure message, or None (Rackspace sends the text "None" for none)."""
        if self.message is None or self.message.strip() in ("", "None"):
            return None
        return self.message

    @property
    def error_code(self) -> str | None:
        """The Rackspace code in a message like ``Error code: '396'``, if any."""
        found = _ERROR_CODE.search(self.message or "")
        return found.group(1) if found else None

    @property
    def image_id(self) -> str | None:
        """The imported image's id, once an import succeeded."""
        value = (self.result or {}).get("image_id")
        return str(value) if value is not None else None

    @property
    def export_location(self) -> str | None:
        """``<container>/<image id>.vhd``, once an export succeeded."""
        value = (self.result or {}).get("export_location")
        return str(value) if value is not None else None


class TaskList(BaseModel):
    """One page of ``GET /tasks``."""

    model_config = _WIRE

    tasks: list[Task]
    first: str | None = None
    next: str | None = None
    schema_link: str | None = Field(default=None, alias="schema")
