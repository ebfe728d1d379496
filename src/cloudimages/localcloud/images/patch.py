"""``PATCH /images/{id}``: Glance's restricted JSON Patch, with each dialect's protections.

Two media types exist. With ``openstack-images-v2.0-json-patch`` an ``add`` of a
property that already exists is a 409 (that is what pyrax guards against);
with ``v2.1`` ``add`` overwrites, as RFC 6902 says. ``replace`` of a missing
property is 409, ``remove`` of a base attribute 403, all-or-nothing. Which attributes
are read-only, reserved or protected comes from the dialect's ``PatchRules``; the
constants below are Rackspace's (Juno's).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from .dialect import PatchRules
from .errors import BadRequest, Conflict, Forbidden, OverLimit, UnsupportedMediaType

VisibilityGuard = Callable[[Any, dict[str, Any]], None]

PATCH_V21 = "application/openstack-images-v2.1-json-patch"
PATCH_V20 = "application/openstack-images-v2.0-json-patch"
READ_ONLY = {
    "id",
    "created_at",
    "updated_at",
    "status",
    "checksum",
    "size",
    "virtual_size",
    "direct_url",
    "self",
    "file",
    "schema",
}
RESERVED = {"owner", "is_public", "location", "deleted", "deleted_at"}
BASE_ATTRIBUTES = {
    "name",
    "visibility",
    "protected",
    "container_format",
    "disk_format",
    "min_disk",
    "min_ram",
    "tags",
    "locations",
}
PROTECTED_PREFIXES = ("com.rackspace", "org.openstack")
MAX_PROPERTIES = 128
MAX_TAGS = 128


def check_media_type(content_type: str | None) -> str:
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in (PATCH_V21, PATCH_V20):
        raise UnsupportedMediaType(
            f"Unsupported Content-Type: {content_type!r}. Use {PATCH_V21}.",
            headers={"Accept-Patch": f"{PATCH_V21}, {PATCH_V20}"},
        )
    return media


def parse_changes(body: bytes, media: str, rules: PatchRules) -> list[tuple[str, str, Any]]:
    """Read the operations into (op, property, value) with a validated pointer."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Malformed JSON in request body.") from None
    if not isinstance(doc, list):
        raise BadRequest("Request body must be a JSON array of operation objects.")
    return [_parse_one(op, media, rules) for op in doc]


def _parse_one(op: Any, media: str, rules: PatchRules) -> tuple[str, str, Any]:
    if not isinstance(op, dict):
        raise BadRequest("Operations must be JSON objects.")
    if media == PATCH_V21:
        name, path = op.get("op"), op.get("path")
        if name not in ("add", "replace", "remove"):
            raise BadRequest(f"Invalid operation: {name!r}. Use add, replace or remove.")
    else:
        present = [k for k in ("add", "replace", "remove") if k in op]
        if len(present) != 1:
            raise BadRequest("Operation objects must contain exactly one of add, replace, remove.")
        name, path = present[0], op[present[0]]
    if name != "remove" and "value" not in op:
        raise BadRequest(f"Operation {name!r} needs a 'value'.")
    return name, _pointer(path, rules.allow_empty_pointer), op.get("value")


def _pointer(path: Any, allow_empty: bool) -> str:
    if path == "/" and allow_empty:
        return ""
    if not isinstance(path, str) or not path.startswith("/") or path == "/":
        raise BadRequest(f"Invalid JSON pointer for this resource: {path!r}")
    token = path[1:]
    if "/" in token or token.endswith("~") or _stray_tilde(token):
        raise BadRequest(f"Invalid JSON pointer for this resource: {path!r}")
    return token.replace("~1", "/").replace("~0", "~")


def _stray_tilde(token: str) -> bool:
    return any(
        token[i] == "~" and token[i + 1 : i + 2] not in ("0", "1") for i in range(len(token))
    )


def apply_changes(
    doc: dict[str, Any],
    changes: list[tuple[str, str, Any]],
    media: str,
    *,
    rules: PatchRules,
    guard_visibility: VisibilityGuard,
) -> dict[str, Any]:
    """A new document with every change applied, or an error and no change at all."""
    out = copy.deepcopy(doc)
    for op, prop, value in changes:
        _guard(prop, rules)
        if prop == "visibility" and op != "remove":
            guard_visibility(value, doc)
        if op == "add":
            if media == PATCH_V20 and (prop in rules.base_attributes or prop in out):
                raise Conflict(f"Property {prop} already present.")
            out[prop] = value
        elif op == "replace":
            if prop not in rules.base_attributes and prop not in out:
                raise Conflict(f"Property {prop} does not exist.")
            out[prop] = value
        else:
            if prop in rules.base_attributes:
                raise Forbidden(f"Property {prop} may not be removed.")
            if prop not in out:
                raise Conflict(f"Property {prop} does not exist.")
            del out[prop]
    _check_result(out, rules)
    return out


def _guard(prop: str, rules: PatchRules) -> None:
    if prop in rules.read_only:
        raise Forbidden(f"Attribute '{prop}' is read-only.")
    if prop in rules.reserved or prop.startswith(("_", *rules.reserved_prefixes)):
        raise Forbidden(f"Attribute '{prop}' is reserved.")
    if rules.protected_prefixes and prop.lower().startswith(rules.protected_prefixes):
        raise Forbidden(f"Property '{prop}' is protected by Rackspace and cannot be changed.")
    if prop == "locations":
        raise Forbidden("Image locations cannot be changed.")


def rackspace_visibility_guard(value: Any, doc: dict[str, Any]) -> None:
    """Only Rackspace publishes images."""
    if value == "public" and doc.get("visibility") != "public":
        raise Forbidden("Only Rackspace may publish images; visibility 'public' is not allowed.")


def _check_result(doc: dict[str, Any], rules: PatchRules) -> None:
    rules.validate({k: v for k, v in doc.items() if not k.startswith("_")})
    custom = [k for k in doc if k not in rules.known and not k.startswith("_")]
    if len(custom) > MAX_PROPERTIES:
        raise OverLimit(f"Attempted: {len(custom)}, Maximum: {MAX_PROPERTIES} image properties.")
    if len(doc.get("tags", [])) > MAX_TAGS:
        raise OverLimit(f"Attempted: {len(doc['tags'])}, Maximum: {MAX_TAGS} image tags.")
    doc["tags"] = list(dict.fromkeys(doc.get("tags", [])))


KNOWN = (
    READ_ONLY
    | RESERVED
    | BASE_ATTRIBUTES
    | {
        "kernel_id",
        "ramdisk_id",
        "instance_uuid",
        "architecture",
        "os_distro",
        "os_version",
    }
)
