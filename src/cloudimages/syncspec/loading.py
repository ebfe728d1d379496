"""Read a sync spec (a YAML file or URL) into a ``SyncSpec``, with every error at its line.

PyYAML composes the document into nodes first, so each field's line is known
(``SpecFile.lines``) and a duplicate key is an error rather than silently the
last one. Problems are all reported at once, each as ``images[1].checksum
(line 14): ...``; steps that meet a problem later (an unknown account block, an
unreachable checksum URL) name the field and line the same way, with
``SpecFile.where``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..client import fetch_url
from ..errors import CloudImagesError, ConfigurationError
from .model import DEFER_CHECKS, ImageSpec, Loc, SyncSpec, find_problems

__all__ = ["MAX_SPEC_SIZE", "SpecFile", "load_spec", "parse_spec", "path_of"]

MAX_SPEC_SIZE = 1024 * 1024
_MESSAGES = {
    "extra_forbidden": "unknown field",
    "missing": "missing",
}


@dataclass(frozen=True)
class SpecFile:
    """A validated spec, where it came from, and the line of each of its fields."""

    spec: SyncSpec
    origin: str
    folder: Path | None = None  # relative file sources are relative to it (local specs)
    lines: Mapping[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int:
        """The line of ``loc``, or of the nearest field around it that has one."""
        return _line_of(self.lines, loc)

    def where(self, *loc: str | int) -> str:
        """``images[1].checksum (line 14 of golden.yaml)``: how errors name a field."""
        return f"{path_of(loc)} (line {self.line_of(loc)} of {self.origin})"

    def image_loc(self, image: ImageSpec) -> Loc:
        return ("images", self.spec.images.index(image))

    def file_source(self, image: ImageSpec) -> str:
        """The absolute path of a file source (relative ones are relative to the spec)."""
        assert image.source.file is not None
        path = Path(image.source.file).expanduser()
        if not path.is_absolute():
            path = (self.folder or Path.cwd()) / path
        return str(path.resolve())


def _line_of(lines: Mapping[Loc, int], loc: Loc) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def path_of(loc: Loc) -> str:
    """``("images", 1, "checksum")`` as ``images[1].checksum``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "spec"


def load_spec(given: str) -> SpecFile:
    """Read and validate the spec at a path or an http(s) URL."""
    if given.startswith(("http://", "https://")):
        return parse_spec(_download(given), origin=given)
    path = Path(given).expanduser()
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        msg = f"sync spec {given} {what}; give the path or http(s) URL of a YAML spec"
        raise ConfigurationError(msg)
    if path.stat().st_size > MAX_SPEC_SIZE:
        msg = f"sync spec {given} is larger than {MAX_SPEC_SIZE} bytes; is it the right file?"
        raise ConfigurationError(msg)
    text = path.read_text(encoding="utf-8", errors="replace")
    return parse_spec(text, origin=str(given), folder=path.resolve().parent)


def _download(url: str) -> str:
    with tempfile.TemporaryDirectory(prefix="cloudimages-spec-") as folder:
        dest = Path(folder) / "spec.yaml"
        try:
            fetch_url(url, dest, max_size=MAX_SPEC_SIZE, stall_timeout=30.0)
        except CloudImagesError as error:
            msg = f"cannot read the sync spec at {url}: {error}"
            raise ConfigurationError(msg) from error
        return dest.read_text(encoding="utf-8", errors="replace")


def parse_spec(text: str, *, origin: str, folder: Path | None = None) -> SpecFile:
    """Validate YAML text as a spec; ``ConfigurationError`` lists every problem with its line."""
    data, lines = _compose(text, origin)
    try:
        spec = SyncSpec.model_validate(data, context={DEFER_CHECKS: True})
    except ValidationError as error:
        problems = [(tuple(e["loc"]), _message(e)) for e in error.errors()]
        raise _invalid(origin, problems, lines) from None
    found = SpecFile(spec=spec, origin=origin, folder=folder, lines=lines)
    problems = find_problems(spec)
    if problems:
        raise _invalid(origin, problems, lines)
    return found


def _message(error: Any) -> str:
    said = _MESSAGES.get(error["type"], str(error["msg"]))
    return said.removeprefix("Value error, ").rstrip(".")


def _invalid(origin: str, problems: list[tuple[Loc, str]], lines: Mapping[Loc, int]) -> Exception:
    listed = "; ".join(
        f"{path_of(loc)} (line {_line_of(lines, loc)}): {said}" for loc, said in problems
    )
    msg = f"sync spec {origin} is not valid: {listed}. Fix it and run again."
    return ConfigurationError(msg)


def _compose(text: str, origin: str) -> tuple[Any, dict[Loc, int]]:
    """The document's data, and the line of every mapping key and list item."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        msg = f"sync spec {origin} is not valid YAML: line {line}: {error.problem}. Fix it."
        raise ConfigurationError(msg) from None
    if root is None:
        msg = f"sync spec {origin} is empty; see docs/sync.md for an example"
        raise ConfigurationError(msg)
    lines: dict[Loc, int] = {}
    data = _Builder(origin, lines).build(root, ())
    return data, lines


class _Builder:
    """Plain data from YAML nodes, recording lines and refusing duplicate keys."""

    def __init__(self, origin: str, lines: dict[Loc, int]) -> None:
        self.origin = origin
        self.lines = lines
        self.scalars = yaml.SafeLoader("")

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
        return self.scalars.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[Any, Any]:
        found: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.scalars.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str | int) or isinstance(key, bool):
                key = str(key)
            if key in found:
                msg = (
                    f"sync spec {self.origin} is not valid: {path_of((*loc, key))} (line"
                    f" {line}): the key is given twice. Fix it and run again."
                )
                raise ConfigurationError(msg)
            self.lines[(*loc, key)] = line
            found[key] = self.build(value_node, (*loc, key))
        return found
