"""Settings of the local cloud: where state lives, where it listens, who exists.

Every field can also come from the environment with the prefix
``CLOUDIMAGES_LOCALCLOUD_`` (for example ``CLOUDIMAGES_LOCALCLOUD_TOKEN_LIFETIME=5``),
so test harnesses and ``cloudimages localcloud serve`` configure it the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_REGIONS = ("DFW", "IAD", "ORD")


class AccountSpec(BaseModel):
    """An account to create at start: a Rackspace-style user with an API key."""

    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")
    api_key: str = Field(min_length=1, max_length=128)
    password: str | None = None
    default_region: str | None = None
    is_admin: bool = False

    @classmethod
    def parse(cls, spec: str) -> AccountSpec:
        """Read ``USERNAME:APIKEY[:REGION]`` as given to ``--account``."""
        parts = spec.split(":")
        if len(parts) not in (2, 3) or not all(parts):
            msg = f"account {spec!r} is not USERNAME:APIKEY or USERNAME:APIKEY:REGION"
            raise ValueError(msg)
        region = parts[2].upper() if len(parts) == 3 else None
        return cls(username=parts[0], api_key=parts[1], default_region=region)


DEFAULT_ACCOUNTS = (
    AccountSpec(username="alice", api_key="alice-api-key", default_region="DFW"),
    AccountSpec(username="bob", api_key="bob-api-key", default_region="DFW"),
    AccountSpec(username="carol", api_key="carol-api-key", default_region="IAD"),
    AccountSpec(username="admin", api_key="admin-api-key", default_region="DFW", is_admin=True),
)


class OpenStackUserSpec(BaseModel):
    """A Keystone v3 user of the upstream-OpenStack regions, with a role on one project."""

    name: str = Field(min_length=1, max_length=255, pattern=r"^[^:]+$")
    password: str = Field(min_length=1, max_length=128)
    project: str = Field(min_length=1, max_length=64, pattern=r"^[^:]+$")
    role: Literal["admin", "member", "reader"] = "member"
    domain: str = Field(default="Default", min_length=1, max_length=64)

    @classmethod
    def parse(cls, spec: str) -> OpenStackUserSpec:
        """Read ``NAME:PASSWORD:PROJECT[:ROLE]`` as given to ``--openstack-user``."""
        parts = spec.split(":")
        if len(parts) not in (3, 4) or not all(parts):
            msg = f"OpenStack user {spec!r} is not NAME:PASSWORD:PROJECT[:ROLE]"
            raise ValueError(msg)
        role = parts[3] if len(parts) == 4 else "member"
        return cls(name=parts[0], password=parts[1], project=parts[2], role=role)  # type: ignore[arg-type]


class OpenStackRegionSpec(BaseModel):
    """An upstream-OpenStack region: its own Glance and Swift, tokens from Keystone v3.

    The options mirror Glance's: ``disk_formats`` (``[image_format] disk_formats``; None
    is Glance's default list), ``import_methods`` (``enabled_import_methods``) and
    ``storage_quota`` (``user_storage_quota``, bytes per project; None: unlimited).
    """

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    disk_formats: tuple[str, ...] | None = None
    import_methods: tuple[Literal["glance-direct", "web-download", "copy-image"], ...] = (
        "glance-direct",
        "web-download",
        "copy-image",
    )
    storage_quota: int | None = Field(default=None, ge=0)


DEFAULT_OPENSTACK_REGIONS = (OpenStackRegionSpec(name="RegionOne"),)


class LocalCloudSettings(BaseSettings):
    """How one local cloud runs."""

    model_config = SettingsConfigDict(env_prefix="CLOUDIMAGES_LOCALCLOUD_")

    data_dir: Path = Field(default=Path(".cache/localcloud"), description="State directory.")
    host: str = Field(default="127.0.0.1", description="Address every service binds to.")
    port: int = Field(default=0, ge=0, le=65535, description="Identity port; 0 picks free ports.")
    public_host: str | None = Field(default=None, description="Host written into catalog URLs.")
    regions: tuple[str, ...] = Field(default=DEFAULT_REGIONS, min_length=1)
    accounts: list[AccountSpec] = Field(default_factory=list, description="Extra accounts.")
    token_lifetime: float = Field(default=86400.0, gt=0, description="Token validity, seconds.")
    task_workers: int = Field(default=2, ge=1, le=32, description="Import/export worker threads.")
    task_pending_delay: float = Field(
        default=0.0, ge=0, description="Seconds a new task stays pending before work starts."
    )
    task_processing_delay: float = Field(
        default=0.0, ge=0, description="Extra seconds a task spends processing (to watch it)."
    )
    task_ttl: float = Field(
        default=48 * 3600.0, gt=0, description="Seconds a finished task stays readable."
    )
    import_size_limit: int = Field(
        default=160 * 1024**3,
        gt=0,
        description="Largest virtual or physical VHD size an import accepts (bytes).",
    )
    export_segment_size: int = Field(
        default=1_048_576_000, ge=1, description="Size of each exported DLO segment (bytes)."
    )
    member_limit: int = Field(default=128, ge=1, description="Members one image may have.")
    openstack_regions: tuple[OpenStackRegionSpec, ...] = Field(
        default=DEFAULT_OPENSTACK_REGIONS,
        description="Regions speaking upstream OpenStack (Keystone v3, Glance, Swift).",
    )
    openstack_users: list[OpenStackUserSpec] = Field(
        default_factory=list, description="Extra Keystone v3 users (beside the seeded ones)."
    )
    faults: str = Field(default="", description="Start-up fault rules (faults/spec.py).")
    fault_seed: int | None = Field(
        default=None, description="Seed of the fault rate rolls, for repeatable chaos runs."
    )

    @field_validator("regions")
    @classmethod
    def _upper_unique(cls, regions: tuple[str, ...]) -> tuple[str, ...]:
        upper = tuple(dict.fromkeys(r.strip().upper() for r in regions if r.strip()))
        if not upper:
            msg = "at least one region is needed"
            raise ValueError(msg)
        return upper

    @field_validator("openstack_regions", mode="before")
    @classmethod
    def _region_names(cls, regions: object) -> object:
        """A plain name is a region with Glance's default configuration."""
        if isinstance(regions, list | tuple):
            return tuple({"name": r} if isinstance(r, str) else r for r in regions)
        return regions

    @model_validator(mode="after")
    def _distinct_region_names(self) -> LocalCloudSettings:
        names = [r.name for r in self.openstack_regions]
        if len(set(names)) != len(names):
            msg = f"OpenStack regions {names} repeat a name"
            raise ValueError(msg)
        clash = set(self.regions) & {n.upper() for n in names}
        if clash:
            msg = f"regions {sorted(clash)} are both Rackspace and OpenStack regions"
            raise ValueError(msg)
        return self

    @property
    def catalog_host(self) -> str:
        """The host clients should use: the bind address unless it is a wildcard."""
        if self.public_host:
            return self.public_host
        return "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
