"""``PATCH /images/{id}``: Glance's restricted JSON Patch, with Rackspace's protections.

Two media types exist. With ``openstack-images-v2.0-json-patch`` an ``add`` of a
property that already exists is a 409 (that is what pyrax guards against);
with ``v2.1`` ``add`` overwrites, as RFC 6902 says. ``replace`` of a missing
property is 409, ``remove`` of a base attribute 403, all-or-nothing.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from .errors import BadRequest, Conflict, Forbidden, OverLimit, UnsupportedMediaType
from .schemas import validate_image

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


def parse_changes(body: bytes, media: str) -> list[tuple[str, str, Any]]:
    """Read the operations into (op, property, value) with a validated pointer."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Malformed JSON in request body.") from None
    if not isinstance(doc, list):
        raise BadRequest("Request body must be a JSON array of operation objects.")
    return [_parse_one(op, media) for op in doc]


def _parse_one(op: Any, media: str) -> tuple[str, str, Any]:
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
    return name, _pointer(path), op.get("value")


def _pointer(path: Any) -> str:
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
    doc: dict[str, Any], changes: list[tuple[str, str, Any]], media: str
) -> dict[str, Any]:
    """A new document with every change applied, or an error and no change at all."""
    out = copy.deepcopy(doc)
    for op, prop, value in changes:
        _guard(prop, op, value, doc)
        if op == "add":
            if media == PATCH_V20 and (prop in BASE_ATTRIBUTES or prop in out):
                raise Conflict(f"Property {prop} already present.")
            out[prop] = value
        elif op == "replace":
            if prop not in BASE_ATTRIBUTES and prop not in out:
                raise Conflict(f"Property {prop} does not exist.")
            out[prop] = value
        else:
            if prop in BASE_ATTRIBUTES:
                raise Forbidden(f"Property {prop} may not be removed.")
            if prop not in out:
                raise Conflict(f"Property {prop} does not exist.")
            del out[prop]
    _check_result(out)
    return out


def _guard(prop: str, op: str, value: Any, doc: dict[str, Any]) -> None:
    if prop in READ_ONLY:
        raise Forbidden(f"Attribute '{prop}' is read-only.")
    if prop in RESERVED or prop.startswith("_"):
        raise Forbidden(f"Attribute '{prop}' is reserved.")
    if prop.lower().startswith(PROTECTED_PREFIXES):
        raise Forbidden(f"Property '{prop}' is protected by Rackspace and cannot be changed.")
    if prop == "locations":
        raise Forbidden("Image locations cannot be changed.")
    if (
        prop == "visibility"
        and op != "remove"
        and value == "public"
        and doc.get("visibility") != "public"
    ):
        raise Forbidden("Only Rackspace may publish images; visibility 'public' is not allowed.")


def _check_result(doc: dict[str, Any]) -> None:
    validate_image({k: v for k, v in doc.items() if not k.startswith("_")})
    custom = [k for k in doc if k not in _KNOWN and not k.startswith("_")]
    if len(custom) > MAX_PROPERTIES:
        raise OverLimit(f"Attempted: {len(custom)}, Maximum: {MAX_PROPERTIES} image properties.")
    if len(doc.get("tags", [])) > MAX_TAGS:
        raise OverLimit(f"Attempted: {len(doc['tags'])}, Maximum: {MAX_TAGS} image tags.")
    doc["tags"] = list(dict.fromkeys(doc.get("tags", [])))


_KNOWN = (
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
