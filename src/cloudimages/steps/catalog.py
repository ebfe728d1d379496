"""Catalogue steps: find earlier work, read, update and verify images, and check inputs.

Every image a pipeline creates records where it came from in properties with
domain-style keys (``cloudimages.source_sha256``…; Rackspace forbids
``com.rackspace*`` and ``org.openstack*``), so a rerun finds it instead of
importing twice. An image is verified by status, name and those properties:
never by comparing the upload's md5 with the image ``checksum``, which differ
on Rackspace (the service repacks the VHD).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from prefect import get_run_logger

from ..client import Image, ImportLimits
from ..errors import ChecksumMismatch, ConfigurationError
from ._step import step
from .clouds import cloud

__all__ = [
    "SOURCE_ACCOUNT",
    "SOURCE_IMAGE",
    "SOURCE_NAME",
    "SOURCE_REGION",
    "SOURCE_SHA256",
    "check_image_fields",
    "find_image",
    "find_tagged_images",
    "get_image",
    "image_service",
    "import_limits",
    "member_id",
    "update_image",
    "verify_image",
]

SOURCE_SHA256 = "cloudimages.source_sha256"
SOURCE_NAME = "cloudimages.source_name"
SOURCE_IMAGE = "cloudimages.source_image"
SOURCE_ACCOUNT = "cloudimages.source_account"
SOURCE_REGION = "cloudimages.source_region"


@step("import-limits")
def import_limits(account: str, region: str) -> ImportLimits:
    """What the account's cloud imports in ``region`` (sizes, formats, name length)."""
    return cloud(account, region).limits


def check_image_fields(
    limits: ImportLimits, *, name: str, properties: Mapping[str, str], where: str
) -> None:
    """Refuse a name or property keys the target would refuse, before any work starts."""
    if len(name) > limits.max_name_length:
        msg = (
            f"the image name is {len(name)} characters; {where} takes at most"
            f" {limits.max_name_length}. Choose a shorter --name."
        )
        raise ConfigurationError(msg)
    reserved = limits.reserved_prefixes
    bad = sorted(k for k in properties if reserved and k.lower().startswith(reserved))
    if bad:
        msg = (
            f"image properties {', '.join(map(repr, bad))} cannot be set: {where} reserves"
            f" keys starting with {' and '.join(map(repr, reserved))}. Use a domain-style key"
            " of your own, e.g. 'com.example.role'."
        )
        raise ConfigurationError(msg)


@step("image-service")
def image_service(account: str, region: str) -> str:
    """The image service's URL: two accounts share images only within the same one."""
    return cloud(account, region).images.base_url


@step("member-id")
def member_id(account: str, region: str) -> str:
    """The id other accounts share with: the account's tenant (one Identity call, cached)."""
    return cloud(account, region).member_id


@step("find-image")
def find_image(
    account: str,
    region: str,
    *,
    properties: Mapping[str, str],
    name: str | None = None,
    owned: bool = True,
) -> Image | None:
    """An active image with these properties (and name), owned by the account if ``owned``."""
    found = next(
        cloud(account, region).find_images(properties=properties, name=name, owned=owned), None
    )
    if found is not None:
        get_run_logger().info("Found image %s (%r) in %s", found.id, found.name, region)
    return found


@step("find-tagged-images")
def find_tagged_images(account: str, region: str, tag: str) -> list[Image]:
    """Active images carrying ``tag`` that the account owns (not ones shared with it)."""
    where = cloud(account, region)
    owner = where.member_id
    found = [
        image
        for image in where.images.list_images(tags=[tag], owner=owner, status="active")
        if image.owner in (None, owner) and tag in image.tags
    ]
    get_run_logger().info("%d image(s) tagged %r in %s", len(found), tag, region)
    return found


@step("get-image")
def get_image(account: str, region: str, image_id: str) -> Image:
    """One image by id (``NotFound`` when absent or not visible to the account)."""
    return cloud(account, region).images.get_image(image_id)


@step("update-image")
def update_image(
    account: str,
    region: str,
    image_id: str,
    *,
    properties: Mapping[str, str],
    tags: Sequence[str] = (),
) -> Image:
    """Set properties and add tags (kept tags stay); only what differs is sent."""
    images = cloud(account, region).images
    wanted_tags = None
    if tags:
        current = images.get_image(image_id).tags
        wanted_tags = list(dict.fromkeys([*current, *tags]))
    image = images.update_image(image_id, dict(properties), tags=wanted_tags)
    get_run_logger().info(
        "Set %d propert(ies) and %d tag(s) on image %s", len(properties), len(tags), image_id
    )
    return image


@step("verify-image")
def verify_image(
    account: str,
    region: str,
    image_id: str,
    *,
    name: str | None = None,
    properties: Mapping[str, str] | None = None,
) -> Image:
    """Check the image is active and has the name and properties we set."""
    image = cloud(account, region).images.get_image(image_id)
    wanted: dict[str, Any] = {"status": "active"}
    if name is not None:
        wanted["name"] = name
    actual: dict[str, Any] = image.model_dump()  # os_distro & co. are fields, not extras
    wanted.update(properties or {})
    for key, value in wanted.items():
        if actual.get(key) != value:
            msg = (
                f"image {image_id} in {region} has {key}={actual.get(key)!r}, expected"
                f" {value!r}; look at it with `cloudimages images show {image_id}`."
            )
            raise ChecksumMismatch(msg, expected=str(value), actual=str(actual.get(key)))
    get_run_logger().info("Verified image %s (%r) in %s", image_id, image.name, region)
    return image
