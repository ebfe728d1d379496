"""The JSON Schemas upstream Glance 33 publishes, validated against as it validates.

The enums depend on the region's configuration (``disk_formats``), so the schemas are
built per region; a request naming a format the region does not take is refused with
the schema's own message, which lists the formats it does take.
"""

from __future__ import annotations

import copy
from typing import Any

from jsonschema import Draft4Validator

from ..images.errors import BadRequest
from ..images.schemas import UUID_PATTERN

DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
STATUSES = [
    "queued",
    "saving",
    "active",
    "killed",
    "deleted",
    "uploading",
    "importing",
    "pending_delete",
    "deactivated",
]
VISIBILITIES = ["community", "public", "private", "shared"]
TASK_TYPES = ["import", "api_image_import", "location_import"]


def _prop(kind: Any, description: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "description": description, **extra}


def _read_only(kind: Any, description: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "readOnly": True, "description": description, **extra}


def image_schema(disk_formats: tuple[str, ...]) -> dict[str, Any]:
    nullable_str = ["null", "string"]
    properties = {
        "id": _prop("string", "An identifier for the image", pattern=UUID_PATTERN),
        "name": _prop(nullable_str, "Descriptive name for the image", maxLength=255),
        "status": _read_only("string", "Status of the image", enum=STATUSES),
        "visibility": _prop("string", "Scope of image accessibility", enum=VISIBILITIES),
        "protected": _prop("boolean", "If true, image will not be deletable."),
        "os_hidden": _prop(
            "boolean", "If true, image will not appear in default image list response."
        ),
        "checksum": _read_only(nullable_str, "md5 hash of image contents.", maxLength=32),
        "os_hash_algo": _read_only(
            nullable_str, "Algorithm to calculate the os_hash_value", maxLength=64
        ),
        "os_hash_value": _read_only(
            nullable_str,
            "Hexdigest of the image contents using the algorithm specified by the os_hash_algo",
            maxLength=128,
        ),
        "owner": _prop(nullable_str, "Owner of the image", maxLength=255),
        "size": _read_only(["null", "integer"], "Size of image file in bytes"),
        "virtual_size": _read_only(["null", "integer"], "Virtual size of image in bytes"),
        "container_format": _prop(
            nullable_str, "Format of the container", enum=[None, *CONTAINER_FORMATS]
        ),
        "disk_format": _prop(nullable_str, "Format of the disk", enum=[None, *disk_formats]),
        "created_at": _read_only("string", "Date and time of image registration"),
        "updated_at": _read_only("string", "Date and time of the last image modification"),
        "tags": _prop(
            "array",
            "List of strings related to the image",
            items={"type": "string", "maxLength": 255},
        ),
        "direct_url": _read_only("string", "URL to access the image file kept in external store"),
        "min_ram": _prop("integer", "Amount of ram (in MB) required to boot image."),
        "min_disk": _prop("integer", "Amount of disk space (in GB) required to boot image."),
        "self": _read_only("string", "An image self url"),
        "file": _read_only("string", "An image file url"),
        "stores": _read_only("string", "Store in which image data resides."),
        "schema": _read_only("string", "An image schema url"),
        "locations": _prop(
            "array",
            "A set of URLs to access the image file kept in external store",
            items={"type": "object"},
        ),
    }
    return {
        "name": "image",
        "properties": properties,
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
        "member_id": _prop("string", "An identifier for the image member (tenantId)"),
        "image_id": _prop("string", "An identifier for the image", pattern=UUID_PATTERN),
        "created_at": _prop("string", "Date and time of image member creation"),
        "updated_at": _prop("string", "Date and time of last modification of image member"),
        "status": _prop(
            "string", "The status of this image member", enum=["pending", "accepted", "rejected"]
        ),
        "schema": {"readOnly": True, "type": "string"},
    },
}

TASK: dict[str, Any] = {
    "name": "task",
    "properties": {
        "id": _prop("string", "An identifier for the task", pattern=UUID_PATTERN),
        "type": _prop("string", "The type of task represented by this content", enum=TASK_TYPES),
        "status": _prop(
            "string",
            "The current status of this task",
            enum=["pending", "processing", "success", "failure"],
        ),
        "input": _prop(["null", "object"], "The parameters required by task, JSON blob"),
        "result": _prop(["null", "object"], "The result of current task, JSON blob"),
        "owner": _prop("string", "An identifier for the owner of this task"),
        "message": _prop("string", "Human-readable informative message"),
        "image_id": _prop("string", "Image associated with the task"),
        "request_id": _prop("string", "Human-readable informative request-id"),
        "user_id": _prop("string", "User associated with the task"),
        "expires_at": _prop(["null", "string"], "Datetime when this resource would be removed"),
        "created_at": _prop("string", "Datetime when this resource was created"),
        "updated_at": _prop("string", "Datetime when this resource was updated"),
        "self": {"readOnly": True, "type": "string"},
        "schema": {"readOnly": True, "type": "string"},
    },
}


def _collection(name: str, item: dict[str, Any], paged: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {name: {"type": "array", "items": item}}
    links = [{"rel": "describedby", "href": "{schema}"}]
    if paged:
        properties.update({"first": {"type": "string"}, "next": {"type": "string"}})
        links = [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"}, *links]
    properties["schema"] = {"type": "string"}
    return {"name": name, "properties": properties, "links": links}


def _sparse_task() -> dict[str, Any]:
    sparse = copy.deepcopy(TASK)
    for key in ("input", "result", "message"):
        sparse["properties"].pop(key)
    return sparse


def upstream_schemas(disk_formats: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    image = image_schema(disk_formats)
    return {
        "image": image,
        "images": _collection("images", image, paged=True),
        "member": MEMBER,
        "members": _collection("members", MEMBER, paged=False),
        "task": TASK,
        "tasks": _collection("tasks", _sparse_task(), paged=True),
    }


class ImageValidator:
    """Checks an image document against the region's schema, as Glance does on write."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self._validator = Draft4Validator(schema)

    def __call__(self, doc: dict[str, Any]) -> None:
        errors = sorted(self._validator.iter_errors(doc), key=lambda e: list(e.path))
        if errors:
            error = errors[0]
            where = "/".join(str(p) for p in error.path) or "image"
            msg = f"Provided object does not match schema 'image': {error.message} (at {where})"
            raise BadRequest(msg)
        for key in ("min_ram", "min_disk"):
            value = doc.get(key)
            if isinstance(value, int) and value < 0:
                msg = f"Invalid value '{value}' for parameter '{key}': Cannot be a negative value"
                raise BadRequest(msg)
