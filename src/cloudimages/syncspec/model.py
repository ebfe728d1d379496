"""The sync spec: a declared catalogue of golden images, where they live and who sees them.

Pure pydantic (no Prefect): the CLI validates a spec fast, and the JSON schema
published as ``docs/sync-spec.schema.json`` is this model's, so editors
complete and check a spec as it is typed. Checks that need no cloud are made
here (unknown fields, duplicates, version rules); the ones that do (account
blocks, regions, checksum URLs) are the sync flow's first steps, still before
anything changes.
"""

from __future__ import annotations

import json
import re
import string
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..params import MAX_NAME, BlockName

__all__ = [
    "DEFER_CHECKS",
    "SYNC_PREFIX",
    "Consumer",
    "ImageRef",
    "ImageSpec",
    "Loc",
    "Naming",
    "Retention",
    "Source",
    "SyncSpec",
    "Target",
    "find_problems",
    "schema_text",
    "sha256_of",
]

#: Property keys sync owns (and refuses in a spec): ``cloudimages.sync_*`` and provenance.
SYNC_PREFIX = "cloudimages."
#: Validation context key: leave ``find_problems`` to the caller (the loader, for line numbers).
DEFER_CHECKS = "defer_checks"
_SHA256 = re.compile(r"^(?:sha256:)?([0-9a-fA-F]{64})$")
_PLACEHOLDERS = frozenset({"name", "version"})

Loc = tuple[str | int, ...]
Region = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9._-]+$", max_length=64, to_upper=True)
]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME)]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ImageRef(_Part):
    """An image an account owns; its data is exported once and imported into each target."""

    account: BlockName
    id: str = Field(min_length=1, max_length=64, description="The image's id.")
    region: Region | None = Field(default=None, description="Its region; default: the block's.")


class Source(_Part):
    """Where an image's bytes come from: exactly one of ``file``, ``url`` and ``image``."""

    file: str | None = Field(
        default=None,
        min_length=1,
        description="A disk image file; a relative path is relative to the spec's folder.",
    )
    url: str | None = Field(
        default=None, pattern=r"^https?://", description="An http(s) URL of a disk image."
    )
    image: ImageRef | None = Field(default=None, description="An image in an account.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Source:
        given = [k for k in ("file", "url", "image") if getattr(self, k) is not None]
        if len(given) != 1:
            msg = f"give exactly one of file, url and image (given: {', '.join(given) or 'none'})"
            raise ValueError(msg)
        return self

    @property
    def kind(self) -> Literal["file", "url", "image"]:
        return "file" if self.file else "url" if self.url else "image"


class Consumer(_Part):
    """An account an image is shared with: a block (shared and accepted) or a member id."""

    account: BlockName | None = Field(
        default=None, description="The consumer's account block: the share is accepted as it."
    )
    member_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_NAME,
        description="A tenant or project id: shared; the consumer accepts it itself.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Consumer:
        if (self.account is None) == (self.member_id is None):
            msg = "give exactly one of account (a block) and member_id"
            raise ValueError(msg)
        return self


class Target(_Part):
    """An account block and the regions it must hold the catalogue in."""

    account: BlockName
    regions: list[Region] = Field(
        default_factory=list, description="Regions; empty: the block's own region."
    )


class Retention(_Part):
    """How many versions of an image each target keeps, and what happens to older ones."""

    keep: int = Field(default=2, ge=1, le=100, description="Versions kept, the newest first.")
    retire: Literal["private", "hide", "delete"] = Field(
        default="private",
        description="Older versions: private (every member removed), hide (os_hidden, where"
        " the cloud has it) or delete (only with --prune).",
    )


class Naming(_Part):
    """How a version's image is named, and which versions are newer."""

    template: str = Field(
        default="{name} {version}",
        min_length=1,
        max_length=MAX_NAME,
        description="The image name: a text with {name} and {version}.",
    )
    order: Literal["natural", "created"] = Field(
        default="natural",
        description="natural: versions compared as text with numbers as numbers (1.10 > 1.9);"
        " created: by when the image was made in the target.",
    )

    @model_validator(mode="after")
    def _placeholders(self) -> Naming:
        fields = {f for _, f, _, _ in string.Formatter().parse(self.template) if f is not None}
        if fields != _PLACEHOLDERS:
            msg = (
                f"template {self.template!r} must use {{name}} and {{version}} and nothing else"
                f" in braces (it uses {', '.join(sorted(fields)) or 'none'})"
            )
            raise ValueError(msg)
        return self

    def image_name(self, name: str, version: str) -> str:
        return self.template.format(name=name, version=version)


class ImageSpec(_Part):
    """One image of the catalogue, in one version."""

    name: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")
    version: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._+~-]*$")
    source: Source
    checksum: str | None = Field(
        default=None,
        description="The source's sha256 (hex, or sha256:hex), or the http(s) URL of a"
        " checksum file (SHA256SUMS style); required for file and url sources.",
        pattern=r"^((sha256:)?[0-9a-fA-F]{64}|https?://\S+)$",
    )
    properties: dict[str, str] = Field(
        default_factory=dict, description="Image properties (domain-style keys)."
    )
    tags: list[Tag] = Field(default_factory=list)
    min_disk: int | None = Field(default=None, ge=0, description="Smallest disk, GB.")
    min_ram: int | None = Field(default=None, ge=0, description="Smallest RAM, MB.")
    retention: Retention | None = Field(
        default=None, description="Overrides the spec's retention for this image."
    )
    shares: list[Consumer] | None = Field(
        default=None, description="Overrides the spec's shares for this image ([]: none)."
    )

    @field_validator("version", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            msg = (
                f"YAML reads an unquoted {value!r} as a number: quote the version (version:"
                ' "2025.10"), or 2025.10 would become 2025.1'
            )
            raise ValueError(msg)
        return value


class SyncSpec(_Part):
    """A catalogue of golden images kept present, identical, shared and fresh in targets."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        title="cloudimages sync spec",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    catalog: str = Field(
        pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
        max_length=64,
        description="This catalogue's name: images sync makes carry it, and sync never"
        " touches images of other catalogues or images it did not make.",
    )
    naming: Naming = Field(default_factory=Naming)
    retention: Retention = Field(default_factory=Retention)
    targets: list[Target] = Field(min_length=1)
    shares: list[Consumer] = Field(
        default_factory=list, description="Who every image is shared with, in each target."
    )
    images: list[ImageSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> SyncSpec:
        if (info.context or {}).get(DEFER_CHECKS):
            return self  # the loader reports every problem, each with its line
        problems = find_problems(self)
        if problems:
            where, said = problems[0]
            msg = f"{'.'.join(map(str, where))}: {said}"
            raise ValueError(msg)
        return self

    def retention_of(self, image: ImageSpec) -> Retention:
        return image.retention or self.retention

    def shares_of(self, image: ImageSpec) -> list[Consumer]:
        return self.shares if image.shares is None else image.shares


def schema_text() -> str:
    """The spec's JSON schema as published in ``docs/sync-spec.schema.json``."""
    return json.dumps(SyncSpec.model_json_schema(), indent=2, sort_keys=True) + "\n"


def sha256_of(checksum: str | None) -> str | None:
    """The hex digest a ``checksum`` states, lower case; None for a URL or nothing."""
    found = _SHA256.match(checksum or "")
    return found.group(1).lower() if found else None


def find_problems(spec: SyncSpec) -> list[tuple[Loc, str]]:
    """What is wrong with a well-formed spec, with the field each problem is at."""
    return [
        *_duplicate_targets(spec),
        *_image_problems(spec),
        *_duplicate_images(spec),
        *_versions_beyond_retention(spec),
    ]


def _duplicate_targets(spec: SyncSpec) -> list[tuple[Loc, str]]:
    seen: dict[tuple[str, str], int] = {}
    problems: list[tuple[Loc, str]] = []
    for index, target in enumerate(spec.targets):
        for region in target.regions or [""]:
            key = (target.account, region)
            if key in seen:
                where = f"{target.account} in {region or 'its own region'}"
                said = f"{where} is listed already as targets[{seen[key]}]"
                problems.append((("targets", index), said))
            seen.setdefault(key, index)
    return problems


def _image_problems(spec: SyncSpec) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    for index, image in enumerate(spec.images):
        if image.source.kind != "image" and image.checksum is None:
            said = "a file or url source needs a checksum (sha256, or a checksum file's URL)"
            problems.append((("images", index, "source"), said))
        owned = sorted(k for k in image.properties if k.lower().startswith(SYNC_PREFIX))
        if owned:
            said = f"keys starting with {SYNC_PREFIX!r} are cloudimages' own: {', '.join(owned)}"
            problems.append((("images", index, "properties"), said))
        long = [k for k, v in image.properties.items() if len(k) > MAX_NAME or len(v) > MAX_NAME]
        if long:
            said = f"keys and values are at most {MAX_NAME} characters: {long[0][:40]!r}"
            problems.append((("images", index, "properties"), said))
        named = spec.naming.image_name(image.name, image.version)
        if len(named) > MAX_NAME:
            said = f"the image name {named[:40]!r}... is longer than {MAX_NAME} characters"
            problems.append((("images", index, "name"), said))
    return problems


def _duplicate_images(spec: SyncSpec) -> list[tuple[Loc, str]]:
    seen: dict[str, int] = {}
    problems: list[tuple[Loc, str]] = []
    for index, image in enumerate(spec.images):
        named = spec.naming.image_name(image.name, image.version)
        if named in seen:
            said = (
                f"image {image.name!r} version {image.version!r} (named {named!r}) is declared"
                f" already as images[{seen[named]}]"
            )
            problems.append((("images", index), said))
        seen.setdefault(named, index)
    return problems


def _versions_beyond_retention(spec: SyncSpec) -> list[tuple[Loc, str]]:
    versions: dict[str, list[int]] = {}
    for index, image in enumerate(spec.images):
        versions.setdefault(image.name, []).append(index)
    problems: list[tuple[Loc, str]] = []
    for name, indexes in versions.items():
        keep = spec.retention_of(spec.images[indexes[-1]]).keep
        if len(indexes) > keep:
            said = (
                f"image {name!r} declares {len(indexes)} versions but its retention keeps"
                f" {keep}; raise retention.keep or declare fewer versions"
            )
            problems.append((("images", indexes[-1], "version"), said))
    return problems
