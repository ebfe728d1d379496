"""Where the local cloud's upstream-OpenStack regions and a real OpenStack part ways.

A real OpenStack here is Keystone 30 + Glance 33 + Swift 2.38 with keystonemiddleware
(realopenstack.py); the local side is the local cloud's Keystone v3 and upstream regions.
Each difference is listed once, here and in docs/openstack-differences.md, under the same
id; test_openstack_differences.py holds one test per id asserting each side on its own
target. Everything else in test_identity_v3*.py, test_openstack_*.py and (for the
``openstack`` images target) test_images_*.py is asserted identically.
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
    real: str
    local: str


DIFFERENCES = {
    d.id: d
    for d in (
        Difference(
            "owner-add",
            "`add` of `/owner` by the (non-admin) owner.",
            "Glance 33 answers 403 but hands the image to the new owner anyway (a bug).",
            "403 and nothing changes.",
        ),
        Difference(
            "identity-root-versions",
            "`GET /` on the identity port.",
            "Lists v3 only.",
            "Lists v3 and v2.0 (deprecated): the same port serves Rackspace's Identity v2.0.",
        ),
        Difference(
            "refused-upload-checksum",
            "The image after an upload refused by the format check (415).",
            "Back to `queued`, but `checksum` keeps the md5 of the refused data.",
            "Back to `queued` with `checksum` null, as before the upload.",
        ),
        Difference(
            "vhdx-virtual-size",
            "`virtual_size` of an uploaded VHDX.",
            "Read from the VHDX metadata region.",
            "null: the local inspector reads headers only (cloudimages.diskimage's inspector"
            " is the hook to do better).",
        ),
        Difference(
            "swift-acl-user-ids",
            "Swift container ACLs naming users.",
            "keystoneauth matches `<project id>:<user id>` and `<project name>:<user name>`.",
            "Matches `<project id>:*`, `<project id>:<user name>` and `*:<user name>`.",
        ),
    )
}


def on(target_name: str, *, real: T, local: T) -> T:
    """The value expected on ``target_name`` ("real" or "local")."""
    return real if target_name == "real" else local
