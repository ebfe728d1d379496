"""The read-only half of a sync: check everything the spec names, observe, and plan.

Runbook: read the spec → log in to every target (block, region) → check each
image's name and properties against each target → check that every target can
hide images if a retention hides → look up every consumer block's member id →
resolve each image's content key (its sha256, fetched from a checksum file
when it is a URL; the source image otherwise) → observe every target in
parallel → plan each image × target. Nothing changes in any cloud, so a bad
spec, an unknown block or an unreachable checksum URL stops a run before it
has done anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigurationError
from ..params import SyncRequest
from ..syncspec import SpecFile, load_spec
from ..syncspec.model import Loc
from ..syncspec.planning import plan_target
from ..syncspec.report import PlanRow
from ..syncspec.state import WantedVersion
from ..syncspec.wanted import retention_by_name, wanted_versions
from ._step import step
from .catalog import check_image_fields
from .sync_sources import ImageOrigin, image_origin, resolve_checksum, url_file_name
from .sync_targets import CheckedTarget, check_target, consumer_member_id, observe_target

__all__ = ["SyncPlan", "plan_sync", "read_spec"]


@dataclass
class SyncPlan:
    """What planning found: the spec, the targets, each image's content, and the rows."""

    spec_file: SpecFile
    targets: list[CheckedTarget]
    contents: dict[int, str]  # content key by image index
    origins: dict[int, ImageOrigin]  # image sources, by image index
    wanted: dict[tuple[str, str], dict[str, list[WantedVersion]]]  # by (account, region)
    rows: list[PlanRow]

    def target(self, row: PlanRow) -> CheckedTarget:
        return next(t for t in self.targets if (t.account, t.region) == (row.account, row.region))


@step("read-sync-spec")
def read_spec(spec: str) -> SpecFile:
    """Read and validate the spec (a path on this machine or an http(s) URL)."""
    return load_spec(spec)


def plan_sync(request: SyncRequest) -> SyncPlan:
    """Check the spec against the clouds and plan every image × target; changes nothing."""
    spec_file = read_spec(request.spec)
    targets = _check_targets(spec_file)
    _check_fields(spec_file, targets)
    member_ids = _member_ids(spec_file, targets)
    contents, origins = _contents(spec_file)
    spec = spec_file.spec
    futures = [observe_target.submit(target, spec.catalog) for target in targets]
    retention = retention_by_name(spec)
    rows: list[PlanRow] = []
    wanted_by_target: dict[tuple[str, str], dict[str, list[WantedVersion]]] = {}
    for target, future in zip(targets, futures, strict=True):
        state = future.result()
        ids = {block: mid for (block, region), mid in member_ids.items() if region == target.region}
        wanted = wanted_versions(
            spec, tenant_id=target.tenant_id, contents=contents, member_ids=ids
        )
        wanted_by_target[(target.account, target.region)] = wanted
        rows += plan_target(state, wanted, retention, spec.naming)
    return SyncPlan(spec_file, targets, contents, origins, wanted_by_target, rows)


def _check_targets(spec_file: SpecFile) -> list[CheckedTarget]:
    """Every (block, region) of the spec, logged in once; the same one twice counts once."""
    checked: dict[tuple[str, str], CheckedTarget] = {}
    for index, target in enumerate(spec_file.spec.targets):
        regions: list[str | None] = list(target.regions) or [None]
        for region in regions:
            where = spec_file.where("targets", index, "account")
            found = check_target(target.account, region, where=where)
            checked.setdefault((found.account, found.region), found)
    return list(checked.values())


def _check_fields(spec_file: SpecFile, targets: list[CheckedTarget]) -> None:
    """Names and property keys every target takes; a hide retention needs os_hidden."""
    spec = spec_file.spec
    for index, image in enumerate(spec.images):
        name = spec.naming.image_name(image.name, image.version)
        for target in targets:
            where = f"{spec_file.where('images', index)} in {target.account} ({target.region})"
            check_image_fields(target, name=name, properties=image.properties, where=where)
            if spec.retention_of(image).retire == "hide" and not target.can_hide:
                loc = ("images", index, "retention") if image.retention else ("retention",)
                msg = (
                    f"{spec_file.where(*loc)}: retire 'hide' needs images that can be hidden,"
                    f" and {target.account} ({target.region}) has no os_hidden; use 'private'"
                    " or 'delete'"
                )
                raise ConfigurationError(msg)


def _member_ids(spec_file: SpecFile, targets: list[CheckedTarget]) -> dict[tuple[str, str], str]:
    """The member id of every consumer block in every target region."""
    spec = spec_file.spec
    mentions: dict[str, Loc] = {}
    for number, consumer in enumerate(spec.shares):
        if consumer.account:
            mentions.setdefault(consumer.account, ("shares", number, "account"))
    for index, image in enumerate(spec.images):
        for number, consumer in enumerate(image.shares or ()):
            if consumer.account:
                at: Loc = ("images", index, "shares", number, "account")
                mentions.setdefault(consumer.account, at)
    ids: dict[tuple[str, str], str] = {}
    for block, loc in mentions.items():
        for region in dict.fromkeys(t.region for t in targets):
            where = spec_file.where(*loc)
            ids[(block, region)] = consumer_member_id(block, region, where=where)
    return ids


def _contents(spec_file: SpecFile) -> tuple[dict[int, str], dict[int, ImageOrigin]]:
    contents: dict[int, str] = {}
    origins: dict[int, ImageOrigin] = {}
    for index, image in enumerate(spec_file.spec.images):
        source = image.source
        if source.image is not None:
            ref = source.image
            where = spec_file.where("images", index, "source", "image")
            origins[index] = image_origin(ref.account, ref.region, ref.id, where=where)
        if image.checksum is not None:
            name = _file_name(spec_file, index)
            where = spec_file.where("images", index, "checksum")
            contents[index] = f"sha256:{resolve_checksum(image.checksum, name, where=where)}"
        else:
            origin = origins[index]
            contents[index] = f"image:{origin.region}/{origin.image_id}"
    return contents, origins


def _file_name(spec_file: SpecFile, index: int) -> str:
    source = spec_file.spec.images[index].source
    if source.url is not None:
        return url_file_name(source.url)
    if source.file is not None:
        return Path(source.file).name
    assert source.image is not None
    return f"{source.image.id}.vhd"
