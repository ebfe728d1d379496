"""Helpers of the sync tests: specs written to files, the flow called, what targets hold."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

from cloudimages import flows
from cloudimages.client import Image
from cloudimages.errors import NotFound
from cloudimages.params import SyncRequest, build
from cloudimages.syncspec.report import SyncReport
from cloudimages.syncspec.state import SYNC_CATALOG
from tests.pipelines.support import block

#: Four targets over two regions: alice and carol, each in DFW and IAD.
TARGETS = [
    {"account": "alice", "regions": ["DFW", "IAD"]},
    {"account": "carol", "regions": ["DFW", "IAD"]},
]
TARGET_KEYS = [("alice", "DFW"), ("alice", "IAD"), ("carol", "DFW"), ("carol", "IAD")]
STAGING = "cloudimages-staging"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_spec(path: Path, spec: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def sync(spec: Path | str, mode: str = "apply", **fields: Any) -> SyncReport:
    request = build(SyncRequest, spec=str(spec), mode=mode, **fields)
    return flows.sync_images(request)


def managed(account: str, region: str, catalog: str) -> list[Image]:
    """The catalogue's images the account owns in the region (hidden or not)."""
    images = block(account).images_client(region)
    owner = block(account).session().tenant_id
    found = images.list_images(owner=owner, properties={SYNC_CATALOG: catalog})
    return [i for i in found if i.owner == owner]


def members(account: str, region: str, image_id: str) -> dict[str, str]:
    listed = block(account).images_client(region).list_members(image_id)
    return {m.member_id: m.status for m in listed}


def tenant(account: str) -> str:
    return block(account).session().tenant_id


def staged_leftovers(account: str, region: str) -> list[str]:
    """Objects sync staged (and their segments) still in the account's staging containers."""
    left: list[str] = []
    with block(account).objects_client(region) as files:
        for container in (STAGING, f"{STAGING}_segments"):
            try:
                left += [o.name for o in files.list_objects(container, prefix="sync-")]
            except NotFound:
                continue
    return left


def ops_of(report: SyncReport) -> list[tuple[str, str, str]]:
    """(target, kind, version) of every operation of the report, in order."""
    return [(row.target, op.kind, op.version) for row in report.rows for op in row.ops]
