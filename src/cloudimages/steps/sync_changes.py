"""Sync steps that change one image: set fields, add tags, remove a member, delete.

Each is one or two calls of the Glance catalogue and finds its own earlier
work (a field already set, a member already gone, an image already deleted),
so rerunning after any failure is safe. ``announce`` emits the event of one
change (``cloudimages.sync.<what>``) for automations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from prefect import get_run_logger
from prefect.events import emit_event

from ..errors import NotFound
from ._step import step
from .clouds import cloud

__all__ = ["EVENTS", "announce", "delete_image", "remove_image_member", "update_fields"]

#: The event of each kind of change.
EVENTS = {
    "create": "cloudimages.sync.created",
    "update": "cloudimages.sync.updated",
    "share": "cloudimages.sync.shared",
    "accept": "cloudimages.sync.accepted",
    "unshare": "cloudimages.sync.unshared",
    "hide": "cloudimages.sync.hidden",
    "delete": "cloudimages.sync.deleted",
    "drift": "cloudimages.sync.drift",
}


@step("update-image-fields")
def update_fields(
    account: str,
    region: str,
    image_id: str,
    *,
    changes: Mapping[str, Any],
    add_tags: Sequence[str] = (),
) -> None:
    """Set fields (properties, name, min_disk…) and add tags; only what differs is sent."""
    images = cloud(account, region).images
    tags = None
    if add_tags:
        tags = list(dict.fromkeys([*images.get_image(image_id).tags, *add_tags]))
    images.update_image(image_id, dict(changes), tags=tags)
    get_run_logger().info(
        "Set %s%s on image %s in %s",
        ", ".join(changes) or "nothing",
        f" and tags {', '.join(add_tags)}" if add_tags else "",
        image_id,
        region,
    )


@step("remove-image-member")
def remove_image_member(owner: str, region: str, image_id: str, member_id: str) -> bool:
    """Stop sharing the image with a member; False when it was not a member any more."""
    try:
        cloud(owner, region).images.remove_member(image_id, member_id)
    except NotFound:
        get_run_logger().info("Member %s of image %s is gone already", member_id, image_id)
        return False
    get_run_logger().info("Image %s is no longer shared with %s", image_id, member_id)
    return True


@step("delete-image")
def delete_image(account: str, region: str, image_id: str) -> bool:
    """Delete an image the account owns; False when it was gone already."""
    try:
        cloud(account, region).images.delete_image(image_id)
    except NotFound:
        get_run_logger().info("Image %s in %s is gone already", image_id, region)
        return False
    get_run_logger().info("Deleted image %s in %s", image_id, region)
    return True


def announce(kind: str, image_id: str | None, payload: Mapping[str, Any]) -> None:
    """Emit the event of one change (or drift), about the image it concerns."""
    resource = {"prefect.resource.id": f"cloudimages.image.{image_id or 'none'}"}
    emit_event(event=EVENTS[kind], resource=resource, payload=dict(payload))
