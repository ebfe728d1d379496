"""Where Cloud Images (Rackspace, which the local cloud follows) and Glance 33 part ways.

Each difference is listed once, here and in docs/cloudimages-differences.md, under the same
id; test_images_differences.py holds one test per id that asserts each side's behaviour on
its own target.  Everything not listed is asserted identically on both targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Difference:
    """One behaviour that differs, and what each side does."""

    id: str
    summary: str
    glance: str
    rackspace: str


DIFFERENCES = {
    d.id: d
    for d in (
        Difference(
            "shared-visibility",
            "Visibility of an image with members.",
            "New images default to `shared`; only `shared` images take members (private: 403).",
            "Images are `private` (enum public/private); members are added to private images.",
        ),
        Difference(
            "visibility-filters",
            "What `visibility=shared` and `visibility=private` list.",
            "`shared` includes the caller's own shared images; `private` only private ones.",
            "`shared` is only images shared with the caller; `private` includes accepted shares.",
        ),
        Difference(
            "visibility-values",
            "Accepted `visibility` values (list filter and image schema enum).",
            "`community` and `all` are accepted; schema enum community/public/private/shared.",
            "Only public/private/shared filter (others: 400); schema enum public/private.",
        ),
        Difference(
            "create-image",
            "Creating an image record and uploading data directly.",
            "`POST /v2/images` answers 201; `/v2/images/{id}/file` uploads and downloads data.",
            "No create call, no data transfer: `POST /v2/images` and `/file` are 403; images come"
            " from import tasks and leave through export tasks.",
        ),
        Difference(
            "glance-only-fields",
            "Image fields added after Juno.",
            "Images carry `os_hidden`, `os_hash_algo`, `os_hash_value`, `stores`.",
            "None of those fields appear.",
        ),
        Difference(
            "rackspace-property-protection",
            "Custom properties under `com.rackspace` and `org.openstack`.",
            "Ordinary custom properties: the owner may add them (200).",
            "Protected by Rackspace: adding them is a 403.",
        ),
        Difference(
            "is-public-reserved",
            "The Glance v1 attribute `is_public`.",
            "No longer reserved: accepted as a custom string property (200).",
            "Reserved, as in Juno: 403.",
        ),
        Difference(
            "empty-pointer",
            "PATCH with the pointer `/` (an empty property name).",
            "409: the empty-named property does not exist.",
            "400: an empty token is not a valid pointer (Juno's pointer check).",
        ),
        Difference(
            "owner-add",
            "`add` of `/owner` by the (non-admin) owner.",
            "Answers 403 but still transfers the image to the new owner (Glance 33 bug).",
            "403 and nothing changes.",
        ),
        Difference(
            "task-message",
            "Task `message` while there is nothing to report.",
            'The empty string `""`.',
            'The literal string `"None"`.',
        ),
        Difference(
            "task-image-owner",
            "Owner of the image a (legacy) import task creates.",
            "`owner: null`: the image belongs to nobody and every project can read it.",
            "The caller's tenant; the image is private to it.",
        ),
        Difference(
            "tasks-need-admin",
            "Who may use `/v2/tasks`.",
            "Only the admin role (403 for member/reader); import tasks are deprecated upstream.",
            "Every customer imports and exports with tasks; no admin role exists.",
        ),
        Difference(
            "task-types",
            "Task `type` enum in the task schema.",
            "import, api_image_import, location_import (no export).",
            "import, export.",
        ),
        Difference(
            "error-body",
            "Error body when the client does not ask for JSON.",
            "An HTML page (`text/html`).",
            "Plain text (`text/plain`), as older Glance deployments did.",
        ),
        Difference(
            "member-body-media-type",
            "`POST /v2/images/{id}/members` with a non-JSON Content-Type.",
            "The Content-Type is ignored and the member is created (200).",
            "415, as for every POST/PUT body that is not `application/json`.",
        ),
        Difference(
            "sort-parameter",
            "The `sort=<key>:<dir>` list parameter (added in Kilo).",
            "Sorts the list.",
            "Unknown to Juno: taken as a filter on a property named `sort` (empty list).",
        ),
        Difference(
            "disk-format-enum",
            "Disk formats in the image schema.",
            "Adds `vhdx` and `ploop` to Juno's list.",
            "Juno's list: ami, ari, aki, vhd, vmdk, raw, qcow2, vdi, iso.",
        ),
    )
}


_GLANCE: object = object()


def on(target_name: str, *, glance: T, localcloud: T, openstack: T = _GLANCE) -> T:  # type: ignore[assignment]
    """The value expected on ``target_name``; "openstack" (the local cloud's upstream region)
    expects Glance's unless the difference says otherwise (see openstack_differences.py)."""
    if target_name == "openstack":
        return glance if openstack is _GLANCE else openstack
    return glance if target_name == "glance" else localcloud
