"""What the spec wants in one target, once the flow has looked up what only clouds know.

The flow resolves each image's content key (its sha256, from the spec or a
checksum file, or the source image) and each consumer block's member id in
the target's region; from those this builds the ``WantedVersion`` of every
declared image, ready for ``planning.plan_target``.
"""

from __future__ import annotations

from collections.abc import Mapping

from .model import Consumer, Retention, SyncSpec
from .state import (
    SYNC_CATALOG,
    SYNC_CONTENT,
    SYNC_NAME,
    SYNC_VERSION,
    WantedMember,
    WantedVersion,
)

__all__ = ["retention_by_name", "wanted_versions"]


def wanted_versions(
    spec: SyncSpec,
    *,
    tenant_id: str,
    contents: Mapping[int, str],
    member_ids: Mapping[str, str],
) -> dict[str, list[WantedVersion]]:
    """Every declared version by image name, for a target whose account is ``tenant_id``.

    Args:
        spec: The spec.
        tenant_id: The target account's member id (it never shares with itself).
        contents: The content key of each image, by its index in ``spec.images``.
        member_ids: The member id of each consumer block in the target's region.
    """
    wanted: dict[str, list[WantedVersion]] = {}
    for index, image in enumerate(spec.images):
        sync = {
            SYNC_CATALOG: spec.catalog,
            SYNC_NAME: image.name,
            SYNC_VERSION: image.version,
            SYNC_CONTENT: contents[index],
        }
        members = [_member(c, member_ids) for c in spec.shares_of(image)]
        version = WantedVersion(
            name=image.name,
            version=image.version,
            image_name=spec.naming.image_name(image.name, image.version),
            content=contents[index],
            properties={**image.properties, **sync},
            tags=list(dict.fromkeys(image.tags)),
            min_disk=image.min_disk,
            min_ram=image.min_ram,
            members=list({m.member_id: m for m in members if m.member_id != tenant_id}.values()),
        )
        wanted.setdefault(image.name, []).append(version)
    return wanted


def retention_by_name(spec: SyncSpec) -> dict[str, Retention]:
    """The retention of each image name: that of its last declared version."""
    return {image.name: spec.retention_of(image) for image in spec.images}


def _member(consumer: Consumer, member_ids: Mapping[str, str]) -> WantedMember:
    if consumer.account is not None:
        return WantedMember(member_id=member_ids[consumer.account], account=consumer.account)
    assert consumer.member_id is not None
    return WantedMember(member_id=consumer.member_id)
