"""Sync steps that read: check each target and consumer, and observe what a target holds.

Every check runs before anything changes; a block or region that does not
work is a ``ConfigurationError`` naming the spec field and its line. What a
target holds is read through the cloud seam's Glance catalogue, so any dialect
works: the images of the spec's catalogue the account owns (hidden ones too,
where the cloud can hide images), each with its members.
"""

from __future__ import annotations

from prefect import get_run_logger

from ..client import Image, ImagesClient, ImportLimits
from ..errors import CloudImagesError, ConfigurationError
from ..syncspec.state import SYNC_CATALOG, ObservedImage, TargetState
from ._step import step
from .clouds import account_region, cloud

__all__ = ["CheckedTarget", "check_target", "consumer_member_id", "observe_target"]


class CheckedTarget(ImportLimits):
    """A target that works: its region, the account's member id, and what it imports."""

    account: str
    region: str
    tenant_id: str
    can_hide: bool


@step("check-target")
def check_target(account: str, region: str | None, *, where: str) -> CheckedTarget:
    """Log in to the block in the region and read its limits; errors name ``where``."""
    try:
        chosen = account_region(account, region)
        target = cloud(account, chosen)
        limits = target.limits
        tenant = target.member_id
        can_hide = _can_hide(target.images)
    except CloudImagesError as error:
        msg = f"{where}: {account!r} in {region or 'its own region'}: {error}"
        raise ConfigurationError(msg) from error
    get_run_logger().info("Target %s in %s works (member id %s)", account, chosen, tenant)
    return CheckedTarget(
        **limits.model_dump(), account=account, region=chosen, tenant_id=tenant, can_hide=can_hide
    )


def _can_hide(images: ImagesClient) -> bool:
    """Whether the cloud's images have ``os_hidden`` (Glance since Rocky; not Rackspace)."""
    properties = images.get_schema("image").get("properties", {})
    return isinstance(properties, dict) and "os_hidden" in properties


@step("observe-target")
def observe_target(target: CheckedTarget, catalog: str) -> TargetState:
    """The catalogue's active images the account owns in the region, with their members."""
    images = cloud(target.account, target.region).images
    filters = {SYNC_CATALOG: catalog}
    listed = list(images.list_images(owner=target.tenant_id, properties=filters))
    if target.can_hide:
        hidden = {**filters, "os_hidden": "true"}
        listed += images.list_images(owner=target.tenant_id, properties=hidden)
    found = {i.id: i for i in listed if _is_managed(i, catalog, target.tenant_id)}
    observed = [ObservedImage.of(i, images.list_members(i.id)) for i in found.values()]
    get_run_logger().info(
        "%s/%s holds %d image(s) of catalogue %r",
        target.account,
        target.region,
        len(observed),
        catalog,
    )
    return TargetState(
        account=target.account,
        region=target.region,
        tenant_id=target.tenant_id,
        can_hide=target.can_hide,
        images=observed,
    )


def _is_managed(image: Image, catalog: str, tenant_id: str) -> bool:
    owned = image.owner in (None, tenant_id)
    return owned and image.status == "active" and image.properties.get(SYNC_CATALOG) == catalog


@step("check-consumer")
def consumer_member_id(account: str, region: str, *, where: str) -> str:
    """The member id of a consumer block in a region; errors name ``where``."""
    try:
        return cloud(account, region).member_id
    except CloudImagesError as error:
        msg = f"{where}: {error}"
        raise ConfigurationError(msg) from error
