"""The JSON Schemas Cloud Images publishes, and validation against them.

The service validates what it stores against the same documents it serves at
``/v2/schemas/*``, so the published schema is the real contract.
"""

from __future__ import annotations

import copy
from typing import Any

from jsonschema import Draft4Validator

from .errors import BadRequest

UUID_PATTERN = (
    "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"
)

CONTAINER_FORMATS = [None, "ami", "ari", "aki", "bare", "ovf"]
DISK_FORMATS = [None, "ami", "ari", "aki", "vhd", "vmdk", "raw", "qcow2", "vdi", "iso"]
IMAGE_STATUSES = ["queued", "saving", "active", "killed", "deleted", "pending_delete"]


def _nullable(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": ["null", kind], **extra}


IMAGE: dict[str, Any] = {
    "name": "image",
    "properties": {
        "id": {
            "type": "string",
            "description": "An identifier for the image",
            "pattern": UUID_PATTERN,
        },
        "name": _nullable("string", maxLength=255, description="Descriptive name for the image"),
        "status": {"type": "string", "enum": IMAGE_STATUSES, "description": "Status of the image"},
        "visibility": {"type": "string", "enum": ["public", "private"]},
        "protected": {"type": "boolean", "description": "If true, image will not be deletable."},
        "checksum": _nullable("string", maxLength=32, description="md5 hash of image contents."),
        "owner": _nullable("string", maxLength=255, description="Owner of the image"),
        "size": _nullable("integer", description="Size of image file in bytes"),
        "virtual_size": _nullable("integer", description="Virtual size of image in bytes"),
        "container_format": {"type": ["null", "string"], "enum": CONTAINER_FORMATS},
        "disk_format": {"type": ["null", "string"], "enum": DISK_FORMATS},
        "created_at": {"type": "string", "description": "Date and time of image registration"},
        "updated_at": {
            "type": "string",
            "description": "Date and time of the last image modification",
        },
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 255}},
        "direct_url": {"type": "string"},
        "min_ram": {"type": "integer", "minimum": 0},
        "min_disk": {"type": "integer", "minimum": 0},
        "self": {"type": "string"},
        "file": {"type": "string"},
        "schema": {"type": "string"},
        "locations": {"type": "array", "items": {"type": "object"}},
        "kernel_id": _nullable("string", pattern=UUID_PATTERN),
        "ramdisk_id": _nullable("string", pattern=UUID_PATTERN),
        "instance_uuid": {"type": "string"},
        "architecture": {"type": "string"},
        "os_distro": {"type": "string"},
        "os_version": {"type": "string"},
    },
    "additionalProperties": {"type": "string"},
    "links": [
        {"rel": "self", "href": "{self}"},
        {"rel": "enclosure", "href": "{file}"},
        {"rel": "describedby", "href": "{schema}"},
    ],
}

MEMBER: dict[str, Any] = {
    "name": "member",
    "properties": {
        "created_at": {"type": "string", "description": "Date and time of image member creation"},
        "image_id": {"type": "string", "pattern": UUID_PATTERN},
        "member_id": {
            "type": "string",
            "description": "An identifier for the image member (tenantId)",
        },
        "status": {"type": "string", "enum": ["pending", "accepted", "rejected"]},
        "updated_at": {"type": "string"},
        "schema": {"type": "string"},
    },
}

TASK: dict[str, Any] = {
    "name": "task",
    "properties": {
        "id": {"type": "string", "pattern": UUID_PATTERN},
        "type": {"type": "string", "enum": ["import", "export"]},
        "status": {"type": "string", "enum": ["pending", "processing", "success", "failure"]},
        "input": {"type": "object"},
        "result": {"type": "object"},
        "owner": {"type": "string"},
        "message": {"type": "string"},
        "expires_at": {"type": ["null", "string"]},
        "created_at": {"type": "string"},
        "updated_at": {"type": "string"},
        "self": {"type": "string"},
        "schema": {"type": "string"},
    },
}


def _collection(name: str, item: dict[str, Any], paged: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        name: {"type": "array", "items": item},
        "schema": {"type": "string"},
    }
    links = [{"rel": "describedby", "href": "{schema}"}]
    if paged:
        properties.update({"first": {"type": "string"}, "next": {"type": "string"}})
        links = [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"}, *links]
    return {"name": name, "properties": properties, "links": links}


def _sparse_task() -> dict[str, Any]:
    sparse = copy.deepcopy(TASK)
    for key in ("input", "result", "message"):
        sparse["properties"].pop(key)
    return sparse


SCHEMAS: dict[str, dict[str, Any]] = {
    "image": IMAGE,
    "images": _collection("images", IMAGE, paged=True),
    "member": MEMBER,
    "members": _collection("members", MEMBER, paged=False),
    "task": TASK,
    "tasks": _collection("tasks", _sparse_task(), paged=True),
}

_IMAGE_VALIDATOR = Draft4Validator(IMAGE)
_TASK_VALIDATOR = Draft4Validator(TASK)


def _check(validator: Draft4Validator, doc: dict[str, Any], what: str) -> None:
    error = next(iter(sorted(validator.iter_errors(doc), key=lambda e: list(e.path))), None)
    if error is not None:
        where = "/".join(str(p) for p in error.path) or what
        raise BadRequest(
            f"Provided object does not match schema '{what}': {error.message} (at {where})"
        )


def validate_image(doc: dict[str, Any]) -> None:
    _check(_IMAGE_VALIDATOR, doc, "image")


def validate_task(doc: dict[str, Any]) -> None:
    _check(_TASK_VALIDATOR, doc, "task")
