"""Cloud Images steps: find earlier work, start and wait for imports, verify, patch.

Every image a pipeline creates records where it came from in properties with
domain-style keys (``cloudimages.source_sha256``…; the service forbids
``com.rackspace*`` and ``org.openstack*``), so a rerun finds it instead of
importing twice. An image is verified by status, name and those properties:
never by comparing the upload's md5 with the image ``checksum``, which differ
on Rackspace (the service repacks the VHD).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from prefect import get_run_logger

from ..blocks import CloudImagesAccount
from ..client import Image, Task
from ..errors import ChecksumMismatch, NotFound
from ._retry import poll_interval, step

__all__ = [
    "SOURCE_ACCOUNT",
    "SOURCE_IMAGE",
    "SOURCE_NAME",
    "SOURCE_REGION",
    "SOURCE_SHA256",
    "find_image",
    "find_task",
    "get_image",
    "image_exists",
    "start_import_task",
    "update_image",
    "verify_image",
    "wait_for_task",
]

SOURCE_SHA256 = "cloudimages.source_sha256"
SOURCE_NAME = "cloudimages.source_name"
SOURCE_IMAGE = "cloudimages.source_image"
SOURCE_ACCOUNT = "cloudimages.source_account"
SOURCE_REGION = "cloudimages.source_region"

#: How many of an account's newest tasks to read when looking for an earlier one.
TASK_SCAN_LIMIT = 100
BACKOFF = 1.5


@step("find-image")
def find_image(
    account: CloudImagesAccount,
    region: str,
    *,
    properties: Mapping[str, str],
    name: str | None = None,
    owned: bool = True,
) -> Image | None:
    """An active image with these properties (and name), owned by the account if ``owned``."""
    images = account.images_client(region)
    owner = images.session.tenant_id if owned else None
    for image in images.list_images(name=name, owner=owner, properties=dict(properties)):
        found = image.properties
        if image.status == "active" and all(found.get(k) == v for k, v in properties.items()):
            get_run_logger().info("Found image %s (%r) in %s", image.id, image.name, region)
            return image
    return None


@step("find-task")
def find_task(
    account: CloudImagesAccount,
    region: str,
    *,
    task_type: Literal["import", "export"],
    match: Mapping[str, Any],
) -> Task | None:
    """The newest import/export task whose input contains ``match`` (tasks live 48 h)."""
    images = account.images_client(region)
    for seen, listed in enumerate(images.list_tasks(sort_key="created_at", sort_dir="desc")):
        if seen >= TASK_SCAN_LIMIT:
            break
        if listed.type != task_type:
            continue
        task = images.get_task(listed.id)
        given = task.input or {}
        if all(given.get(key) == value for key, value in match.items()):
            get_run_logger().info("Found earlier %s task %s (%s)", task_type, task.id, task.status)
            return task
    return None


@step("start-import-task", retries=0)
def start_import_task(
    account: CloudImagesAccount, region: str, *, container: str, obj: str, name: str
) -> Task:
    """Create the import task of ``container/obj`` as image ``name``.

    Not retried here: the client already retries ``POST /tasks`` carefully (it
    looks for the task a lost answer created before trying again).
    """
    task = account.images_client(region).create_import_task(container, obj, name=name)
    get_run_logger().info("Started import task %s of %s/%s in %s", task.id, container, obj, region)
    return task


@step("wait-for-task")
def wait_for_task(
    account: CloudImagesAccount, region: str, task_id: str, *, deadline: float
) -> Task:
    """Poll a task until it succeeds, with backoff; ``TaskFailed``/``TaskTimedOut`` otherwise.

    ``deadline`` is wall-clock (``time.time()``), so a retried wait keeps the
    deadline of the first attempt.
    """
    logger = get_run_logger()
    first, longest = poll_interval()
    logger.info("Waiting for task %s in %s", task_id, region)
    task = account.images_client(region).wait_for_task(
        task_id,
        timeout=max(0.0, deadline - time.time()),
        poll_interval=first,
        backoff=BACKOFF,
        max_interval=longest,
    )
    logger.info("Task %s succeeded: %s", task_id, task.result)
    return task


@step("get-image")
def get_image(account: CloudImagesAccount, region: str, image_id: str) -> Image:
    """One image by id (``NotFound`` when absent or not visible to the account)."""
    return account.images_client(region).get_image(image_id)


@step("image-exists")
def image_exists(account: CloudImagesAccount, region: str, image_id: str) -> bool:
    """Whether the account can see the image."""
    try:
        account.images_client(region).get_image(image_id)
    except NotFound:
        return False
    return True


@step("verify-image")
def verify_image(
    account: CloudImagesAccount,
    region: str,
    image_id: str,
    *,
    name: str | None = None,
    properties: Mapping[str, str] | None = None,
) -> Image:
    """Check the image is active and has the name and properties we set."""
    image = account.images_client(region).get_image(image_id)
    wanted: dict[str, Any] = {"status": "active"}
    if name is not None:
        wanted["name"] = name
    actual: dict[str, Any] = {"status": image.status, "name": image.name, **image.properties}
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


@step("update-image")
def update_image(
    account: CloudImagesAccount,
    region: str,
    image_id: str,
    *,
    properties: Mapping[str, str],
    tags: Sequence[str] = (),
) -> Image:
    """Set properties and add tags (kept tags stay); only what differs is sent."""
    images = account.images_client(region)
    wanted_tags = None
    if tags:
        current = images.get_image(image_id).tags
        wanted_tags = list(dict.fromkeys([*current, *tags]))
    image = images.update_image(image_id, dict(properties), tags=wanted_tags)
    get_run_logger().info(
        "Set %d propert(ies) and %d tag(s) on image %s", len(properties), len(tags), image_id
    )
    return image
