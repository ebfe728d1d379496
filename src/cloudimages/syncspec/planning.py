"""What a target lacks, and the operations that make it as the spec says (pure functions).

Per image name in a target: every declared version must exist once with the
declared content, name, properties, tags, sizes and members; a copy with other
content, or a second copy, is unshared and deleted (deletion needs ``--prune``);
versions beyond retention are retired (members removed, hidden, or deleted
with ``--prune``); images of names the spec no longer declares are deleted
(``--prune``). Operations of one row run in order, creates first, and a row
stops at its first failure, so old versions are never retired before the new
one exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from .model import Naming, Retention
from .report import Op, PlanRow
from .state import ObservedImage, TargetState, WantedMember, WantedVersion

__all__ = ["natural_key", "plan_image", "plan_target"]

_RUNS = re.compile(r"(\d+)")
_NEWEST = datetime.max.replace(tzinfo=UTC)


def natural_key(version: str) -> tuple[tuple[int, int, str], ...]:
    """Text with numbers compared as numbers: ``1.9 < 1.10``, ``20240601 < 20240715``."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in _RUNS.split(version)
        if part
    )


def plan_target(
    state: TargetState,
    wanted: Mapping[str, list[WantedVersion]],
    retention: Mapping[str, Retention],
    naming: Naming,
) -> list[PlanRow]:
    """One row per image name declared in the spec or found in the target."""
    found: dict[str, list[ObservedImage]] = {}
    for image in state.images:
        found.setdefault(image.sync_name, []).append(image)
    names = list(dict.fromkeys([*wanted, *sorted(found)]))
    return [
        plan_image(
            state,
            name,
            wanted.get(name, []),
            found.get(name, []),
            retention=retention.get(name),
            naming=naming,
        )
        for name in names
    ]


def plan_image(
    state: TargetState,
    name: str,
    wanted: list[WantedVersion],
    found: list[ObservedImage],
    *,
    retention: Retention | None,
    naming: Naming,
) -> PlanRow:
    """The row of one image name in one target."""
    row = PlanRow(image=name, version=None, account=state.account, region=state.region)
    if not wanted or retention is None:
        _not_in_spec(row, found)
        return row
    newest = max(wanted, key=lambda w: _order(w.version, found, naming))
    row.version = newest.version
    retire_after: list[Op] = []
    for version in wanted:
        same = [image for image in found if image.version == version.version]
        kept = _declared(row, version, same, retire_after, state=state)
        if version is newest and kept is not None:
            row.image_id = kept.id
    declared = {w.version for w in wanted}
    older = [image for image in found if image.version not in declared]
    _retention(row, older, retention, room=retention.keep - len(wanted), naming=naming)
    row.ops += retire_after
    row.rotate = any(op.kind == "create" and op.version == newest.version for op in row.ops) and (
        any(image.version != newest.version for image in found)
    )
    return row


def _order(version: str, found: Iterable[ObservedImage], naming: Naming) -> Any:
    if naming.order == "natural":
        return natural_key(version)
    made = [i.created_at or _NEWEST for i in found if i.version == version]
    return min(made) if made else _NEWEST


def _declared(
    row: PlanRow,
    wanted: WantedVersion,
    same: list[ObservedImage],
    retire_after: list[Op],
    *,
    state: TargetState,
) -> ObservedImage | None:
    """Plan one declared version; the image that stays, if there is one already."""
    good = sorted(
        (i for i in same if i.content == wanted.content),
        key=lambda i: (i.created_at or _NEWEST, i.id),
    )
    for other in (i for i in same if i.content != wanted.content):
        row.drift.append(f"{other.id} ({wanted.version}) holds other content: {other.content}")
        retire_after += _remove(other, wanted.version)
    for extra in good[1:]:
        row.drift.append(f"{extra.id} duplicates {good[0].id} ({wanted.version})")
        retire_after += _remove(extra, wanted.version)
    if not good:
        row.drift.append(f"version {wanted.version} is missing")
        row.ops.append(Op(kind="create", version=wanted.version, detail=wanted.image_name))
        row.ops += _member_ops(row, wanted, None, state=state)
        return None
    kept = good[0]
    update = _update(row, wanted, kept, state=state)
    if update is not None:
        row.ops.append(update)
    row.ops += _member_ops(row, wanted, kept, state=state)
    return kept


def _update(
    row: PlanRow, wanted: WantedVersion, image: ObservedImage, *, state: TargetState
) -> Op | None:
    changes: dict[str, Any] = {}
    said: list[str] = []
    if image.name != wanted.image_name:
        changes["name"] = wanted.image_name
        said.append(f"name is {image.name!r}, spec says {wanted.image_name!r}")
    for key, value in wanted.properties.items():
        if image.properties.get(key) != value:
            changes[key] = value
            have = image.properties.get(key)
            said.append(f"{key} is missing" if have is None else f"{key} is {have!r}")
    for key in ("min_disk", "min_ram"):
        value = getattr(wanted, key)
        if value is not None and getattr(image, key) != value:
            changes[key] = value
            said.append(f"{key} is {getattr(image, key)}, spec says {value}")
    if state.can_hide and image.hidden:
        changes["os_hidden"] = False
        said.append("it is hidden")
    tags = [tag for tag in wanted.tags if tag not in image.tags]
    if tags:
        said.append(f"tags {', '.join(tags)} missing")
    if not changes and not tags:
        return None
    row.drift += [f"{wanted.version}: {text}" for text in said]
    detail = ", ".join([*changes, *(f"tag {t}" for t in tags)])
    return Op(
        kind="update",
        version=wanted.version,
        image_id=image.id,
        detail=detail,
        changes=changes,
        add_tags=tags,
    )


def _member_ops(
    row: PlanRow, wanted: WantedVersion, image: ObservedImage | None, *, state: TargetState
) -> list[Op]:
    """Share with each declared consumer (accepting where its block is given); unshare others."""
    current = {m.member_id: m.status for m in image.members} if image else {}
    image_id = image.id if image else None
    ops: list[Op] = []
    for member in wanted.members:
        status = current.get(member.member_id)
        if status is None:
            if image is not None:
                row.drift.append(f"{wanted.version}: not shared with {member.label}")
            ops.append(_share(member, wanted.version, image_id))
            status = "pending"
        if status != "accepted" and member.account is not None:
            if image is not None and member.member_id in current:
                row.drift.append(f"{wanted.version}: {member.label}'s share is {status}")
            ops.append(_accept(member, wanted.version, image_id))
        elif status != "accepted" and image is not None:
            row.drift.append(f"{wanted.version}: {member.label} has not accepted yet ({status})")
    declared = {m.member_id for m in wanted.members} | {state.tenant_id}
    for member_id in sorted(set(current) - declared):
        row.drift.append(f"{wanted.version}: shared with undeclared member {member_id}")
        ops.append(_unshare(image_id, wanted.version, member_id, retire=False))
    return ops


def _share(member: WantedMember, version: str, image_id: str | None) -> Op:
    return Op(
        kind="share",
        version=version,
        image_id=image_id,
        member_id=member.member_id,
        detail=f"with {member.label}",
    )


def _accept(member: WantedMember, version: str, image_id: str | None) -> Op:
    return Op(
        kind="accept",
        version=version,
        image_id=image_id,
        member_id=member.member_id,
        consumer=member.account,
        detail=f"as {member.label}",
    )


def _unshare(image_id: str | None, version: str, member_id: str, *, retire: bool) -> Op:
    return Op(
        kind="unshare",
        version=version,
        image_id=image_id,
        member_id=member_id,
        detail=f"member {member_id}",
        retire=retire,
    )


def _remove(image: ObservedImage, version: str) -> list[Op]:
    """Take an image out of use now (members removed); delete it with ``--prune``."""
    ops = [_unshare(image.id, version, m.member_id, retire=True) for m in image.members]
    return [*ops, _delete(image, version)]


def _delete(image: ObservedImage, version: str) -> Op:
    return Op(
        kind="delete",
        version=version,
        image_id=image.id,
        detail=image.name or image.id,
        needs_prune=True,
        retire=True,
    )


def _retention(
    row: PlanRow, older: list[ObservedImage], retention: Retention, *, room: int, naming: Naming
) -> None:
    """Keep the newest undeclared versions while there is room; retire the rest."""
    versions = sorted(
        {i.version for i in older}, key=lambda v: _order(v, older, naming), reverse=True
    )
    for version in versions[max(room, 0) :]:
        images = [i for i in older if i.version == version]
        ops = [op for image in images for op in _retire(image, version, retention)]
        if ops:
            row.drift.append(f"version {version} is beyond retention (keep {retention.keep})")
        row.ops += ops


def _retire(image: ObservedImage, version: str, retention: Retention) -> list[Op]:
    if retention.retire == "delete":
        return [_delete(image, version)]
    if retention.retire == "hide":
        if image.hidden:
            return []
        detail = f"{image.name or image.id} (os_hidden)"
        changes = {"os_hidden": True}
        return [
            Op(
                kind="hide",
                version=version,
                image_id=image.id,
                detail=detail,
                changes=changes,
                retire=True,
            )
        ]
    return [_unshare(image.id, version, m.member_id, retire=True) for m in image.members]


def _not_in_spec(row: PlanRow, found: list[ObservedImage]) -> None:
    for image in found:
        row.drift.append(f"{image.id} ({image.version}) is not in the spec")
        row.ops.append(_delete(image, image.version))
