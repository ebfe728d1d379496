"""Sharing steps: the owner adds a member, the member accepts; both skip what is done."""

from __future__ import annotations

from prefect import get_run_logger
from pydantic import BaseModel

from ..errors import Conflict, NotFound
from ._step import step
from .clouds import cloud

__all__ = ["Membership", "accept_image", "add_image_member"]


class Membership(BaseModel):
    """One member of one image, and whether this run changed nothing."""

    image_id: str
    tenant_id: str
    status: str
    skipped: bool


@step("add-image-member")
def add_image_member(owner: str, region: str, image_id: str, tenant_id: str) -> Membership:
    """Share an image with a tenant, unless it is a member already.

    Concurrent runs may add the same member between our look and our add; the
    service's 409 then means the member exists, which is what this step wants.
    """
    images = cloud(owner, region).images
    try:
        member = images.get_member(image_id, tenant_id)
        skipped = True
    except NotFound:
        try:
            member = images.add_member(image_id, tenant_id)
            skipped = False
        except Conflict:
            member = images.get_member(image_id, tenant_id)
            skipped = True
    get_run_logger().info(
        "Image %s is shared with tenant %s (%s%s)",
        image_id,
        tenant_id,
        member.status,
        ", already" if skipped else "",
    )
    return Membership(image_id=image_id, tenant_id=tenant_id, status=member.status, skipped=skipped)


@step("accept-image")
def accept_image(consumer: str, region: str, image_id: str) -> Membership:
    """Accept a shared image as the consumer, unless it is accepted already."""
    where = cloud(consumer, region)
    tenant_id = where.member_id
    member = where.images.get_member(image_id, tenant_id)
    skipped = member.status == "accepted"
    if not skipped:
        member = where.images.set_member_status(image_id, tenant_id, "accepted")
    get_run_logger().info(
        "Tenant %s has accepted image %s%s", tenant_id, image_id, " (already)" if skipped else ""
    )
    return Membership(image_id=image_id, tenant_id=tenant_id, status=member.status, skipped=skipped)
