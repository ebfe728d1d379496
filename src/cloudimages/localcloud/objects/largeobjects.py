"""Static and Dynamic Large Objects: manifests and the segments behind them.

A large object is resolved into ``Piece``s (a blob and a byte span) before a
byte is sent, so a missing or changed segment is answered with 409 instead of
a stream that breaks half way.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, unquote

from .blobs import BlobStore
from .context import Ctx
from .http import REASONS, SwiftError, header_text
from .limits import (
    SLO_MAX_MANIFEST_SEGMENTS,
    SLO_MAX_MANIFEST_SIZE,
)
from .store import ObjectRecord, ObjectStore, listing_time

MAX_NESTING = 10


@dataclass(frozen=True)
class Piece:
    """A byte span of a blob, or of a manifest's inline ``data`` segment."""

    blob: str
    start: int
    stop: int
    data: bytes | None = None

    @property
    def size(self) -> int:
        return self.stop - self.start

    def chunks(self, blobs: BlobStore, start: int, stop: int) -> Iterator[bytes]:
        """Bytes [start, stop) of this piece (offsets relative to the piece)."""
        if self.data is not None:
            yield self.data[self.start + start : self.start + stop]
            return
        yield from blobs.iter_range(self.blob, self.start + start, self.start + stop)


@dataclass
class Resolved:
    """What a GET of an object serves: its pieces, length and ETag."""

    pieces: list[Piece]
    length: int
    etag: str  # as sent in the ETag header (quoted for large objects)


class ManifestProblems(SwiftError):
    """Segments a manifest PUT cannot use: 400 with ``[quoted name, problem]`` pairs."""

    def __init__(self, problems: list[list[str]]) -> None:
        super().__init__(400, "Errors:\n" + "".join(f"{n}, {p}\n" for n, p in problems))
        self.problems = problems


def split_segment_path(path: str) -> tuple[str, str]:
    """``/container/object`` → (container, object), names taken literally; 400 otherwise."""
    container, _, obj = path.lstrip("/").partition("/")
    if not container or not obj:
        raise SwiftError(400, f"Errors:\n{path}, Invalid path\n")
    return container, obj


class Reader(Protocol):
    """What resolving needs: the store, and a check that a container may be read."""

    store: ObjectStore

    def require(self, need: str, container: str | None = None, account: str | None = None) -> None:
        """Raise unless ``need`` is allowed on the container."""


def resolve(ctx: Reader, account: str, record: ObjectRecord, depth: int = 0) -> Resolved:
    """The pieces of an object's content, following SLO and DLO manifests."""
    if depth > MAX_NESTING:
        raise SwiftError(409, "Max recursion depth exceeded on SLO/DLO")
    if record.is_slo:
        return _resolve_slo(ctx, account, record, depth)
    if record.dlo_manifest is not None:
        return _resolve_dlo(ctx, account, record, depth)
    pieces = [Piece(record.blob, 0, record.size)] if record.blob and record.size else []
    return Resolved(pieces, record.size, record.etag)


def _resolve_slo(ctx: Reader, account: str, record: ObjectRecord, depth: int) -> Resolved:
    assert record.blob is not None
    manifest = json.loads(ctx.store.blobs.read_bytes(record.blob))
    pieces: list[Piece] = []
    for seg in manifest:
        if "data" in seg:
            raw = base64.b64decode(seg["data"])
            pieces.append(Piece("", 0, len(raw), raw))
            continue
        container, obj = split_segment_path(seg["name"])
        try:
            ctx.require("read", container, account)
        except SwiftError as denied:  # Swift: the segment fails, so the object conflicts
            raise SwiftError(409, f"Segment {seg['name']}: {denied.status}") from None
        found = ctx.store.get_object(account, container, obj)
        if found is None:
            raise SwiftError(409, f"Segment {seg['name']} is missing")
        inner = resolve(ctx, account, found, depth + 1)
        if seg.get("hash") and _strip(inner.etag) != seg["hash"]:
            raise SwiftError(409, f"Segment {seg['name']} has changed")
        lo, hi = _range_bounds(seg.get("range"), inner.length)
        pieces.extend(sub_pieces(inner.pieces, lo, hi))
    length = sum(p.size for p in pieces)
    return Resolved(pieces, length, f'"{record.meta.get("x-object-sysmeta-slo-etag", "")}"')


def _resolve_dlo(ctx: Reader, account: str, record: ObjectRecord, depth: int) -> Resolved:
    container, _, prefix = unquote(header_text(record.dlo_manifest or "")).partition("/")
    ctx.require("read", container, account)
    pieces: list[Piece] = []
    etags = hashlib.md5(usedforsecurity=False)
    for seg in ctx.store.iter_prefix(account, container, prefix):
        if seg.dlo_manifest is not None or seg.is_slo:
            inner = resolve(ctx, account, seg, depth + 1)
            pieces.extend(inner.pieces)
            etags.update(_strip(inner.etag).encode())
            continue
        if seg.blob and seg.size:
            pieces.append(Piece(seg.blob, 0, seg.size))
        etags.update(seg.etag.encode())
    return Resolved(pieces, sum(p.size for p in pieces), f'"{etags.hexdigest()}"')


def _strip(etag: str) -> str:
    return etag.strip('"')


def _range_bounds(spec: str | None, length: int) -> tuple[int, int]:
    if not spec:
        return 0, length
    first, _, last = spec.partition("-")
    if not first:
        return max(0, length - int(last)), length
    return int(first), min(length, int(last) + 1) if last else length


def sub_pieces(pieces: list[Piece], lo: int, hi: int) -> list[Piece]:
    out, offset = [], 0
    for p in pieces:
        a, b = max(lo, offset), min(hi, offset + p.size)
        if a < b:
            out.append(Piece(p.blob, p.start + a - offset, p.start + b - offset, p.data))
        offset += p.size
    return out


# SLO manifest PUT ---------------------------------------------------------------
def build_slo(ctx: Ctx, body: bytes) -> tuple[list[dict[str, Any]], str, int]:
    """Validate a ``multipart-manifest=put`` body: (stored manifest, etag, total size).

    Two passes, as Swift's slo middleware does: the manifest's own syntax
    (``Index N: ...`` lines), then each segment against the store
    (``/c/o, 404 Not Found`` lines); either way a 400 and nothing stored.
    """
    if len(body) > SLO_MAX_MANIFEST_SIZE:
        raise SwiftError(413, f"Manifest File > {SLO_MAX_MANIFEST_SIZE} bytes")
    segments = _parse_manifest(ctx, body)
    problems: list[list[str]] = []
    stored: list[dict[str, Any]] = []
    etags = hashlib.md5(usedforsecurity=False)
    total = 0
    for index, seg in enumerate(segments):
        if "data" in seg:
            raw = base64.b64decode(seg["data"])
            stored.append({"data": base64.b64encode(raw).decode("ascii")})
            etags.update(hashlib.md5(raw, usedforsecurity=False).hexdigest().encode())
            total += len(raw)
            continue
        entry = _check_segment(ctx, seg, problems, last=index == len(segments) - 1)
        if entry is None:
            continue
        stored.append(entry)
        part = f"{entry['hash']}:{entry['range']};" if "range" in entry else entry["hash"]
        etags.update(part.encode())
        total += entry["bytes"]
    if problems:
        raise ManifestProblems(problems)
    return stored, etags.hexdigest(), total


def _parse_manifest(ctx: Ctx, body: bytes) -> list[dict[str, Any]]:
    try:
        segments = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise SwiftError(400, "Manifest must be valid JSON.\n") from None
    if not isinstance(segments, list):
        raise SwiftError(400, "Manifest must be a list.\n")
    if len(segments) > SLO_MAX_MANIFEST_SEGMENTS:
        raise SwiftError(413, f"Too many segments; max {SLO_MAX_MANIFEST_SEGMENTS}.\n")
    errors = [
        error
        for index, seg in enumerate(segments)
        if (error := _syntax_error(ctx, index, seg, last=index == len(segments) - 1))
    ]
    if segments and all(isinstance(s, dict) and "data" in s for s in segments):
        errors.append("Inline data segments require at least one object-backed segment.")
    if errors:
        raise SwiftError(400, "".join(f"{e}\n" for e in errors))
    return segments


def _syntax_error(ctx: Ctx, index: int, seg: Any, *, last: bool) -> str | None:
    """Swift's per-segment syntax checks, with its wording."""
    if not isinstance(seg, dict):
        return f"Index {index}: not a JSON object"
    if "path" in seg and "data" in seg:
        return f"Index {index}: expected exactly one of 'path' or 'data'"
    if "data" in seg:
        return _data_error(index, seg)
    if "path" not in seg:
        return f"Index {index}: expected keys to include one of 'path' or 'data'"
    return _path_error(ctx, index, seg, last=last)


def _path_error(ctx: Ctx, index: int, seg: dict[str, Any], *, last: bool) -> str | None:
    """An object-backed segment: its keys, path, size and range."""
    extra = sorted(k for k in seg if k not in ("path", "etag", "size_bytes", "range"))
    if extra:
        return f"Index {index}: extraneous keys " + ", ".join(json.dumps(k) for k in extra)
    path = seg["path"]
    if not isinstance(path, str):
        return f'Index {index}: "path" must be a string'
    if seg.get("etag") is not None and not isinstance(seg["etag"], str):
        return f'Index {index}: "etag" must be a string or null (if provided)'
    if "/" not in path.strip("/"):
        return (
            f"Index {index}: path does not refer to an object. Path must be of the form"
            " /container/object."
        )
    if seg.get("size_bytes") is not None:
        size = _as_int(seg["size_bytes"])
        if size is None:
            return f"Index {index}: invalid size_bytes"
        if size < 1 and not last:
            return f"Index {index}: too small; each segment must be at least 1 byte."
    if path.lstrip("/") == f"{ctx.container}/{ctx.obj}":
        return f"Index {index}: manifest must not include itself as a segment"
    if seg.get("range") and not _valid_range(str(seg["range"])):
        return f"Index {index}: invalid range"
    return None


def _data_error(index: int, seg: dict[str, Any]) -> str | None:
    """An inline segment: only ``data``, strict non-empty base64."""
    extra = sorted(k for k in seg if k != "data")
    if extra:
        return f"Index {index}: extraneous keys " + ", ".join(json.dumps(k) for k in extra)
    try:
        raw = base64.b64decode(str(seg["data"]), validate=True)
    except (binascii.Error, ValueError):
        return f"Index {index}: data must be valid base64"
    if not raw:
        return f"Index {index}: too small; each segment must be at least 1 byte."
    return None


def _valid_range(spec: str) -> bool:
    first, dash, last = spec.partition("-")
    return (
        bool(dash)
        and (first.isdigit() or last.isdigit())
        and all(part.isdigit() or part == "" for part in (first, last))
    )


def _check_segment(
    ctx: Ctx, seg: dict[str, Any], problems: list[list[str]], *, last: bool
) -> dict[str, Any] | None:
    path = seg["path"]
    container, obj = split_segment_path(path)
    name = quote(path)
    try:
        ctx.require("read", container)
    except SwiftError as denied:
        problems.append([name, f"{denied.status} {REASONS[denied.status][0]}"])
        return None
    found = ctx.store.get_object(ctx.account, container, obj)
    if found is None:
        problems.append([name, "404 Not Found"])
        return None
    inner = resolve(ctx, ctx.account, found)
    etag = _strip(inner.etag)
    if inner.length < 1 and not last:
        problems.append([name, "Too small; each segment must be at least 1 byte."])
    if seg.get("size_bytes") is not None and _as_int(seg["size_bytes"]) != inner.length:
        problems.append([name, "Size Mismatch"])
    if seg.get("etag") is not None and seg["etag"] != etag:
        problems.append([name, "Etag Mismatch"])
    entry: dict[str, Any] = {
        "name": "/" + container + "/" + obj,
        "bytes": inner.length,
        "hash": etag,
        "content_type": found.content_type,
        "last_modified": listing_time(found.timestamp),
    }
    if seg.get("range"):
        lo, hi = _range_bounds(str(seg["range"]), inner.length)
        if lo >= hi:
            problems.append([name, "Unsatisfiable Range"])
            return None
        if (lo, hi) != (0, inner.length):
            entry["range"] = f"{lo}-{hi - 1}"
            entry["bytes"] = hi - lo
    if found.is_slo:
        entry["sub_slo"] = True
    return entry


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def raw_manifest(manifest: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``format=raw`` view: the shape a client PUTs."""
    out: list[dict[str, Any]] = []
    for seg in manifest:
        if "data" in seg:
            out.append({"data": seg["data"]})
            continue
        entry = {"path": seg["name"], "etag": seg["hash"], "size_bytes": seg["bytes"]}
        if "range" in seg:
            entry["range"] = seg["range"]
        out.append(entry)
    return out


def now() -> float:
    return time.time()
