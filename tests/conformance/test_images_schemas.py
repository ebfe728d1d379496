"""Schemas: the six JSON Schemas, and the documents the service returns validate against them.

Every test runs against a real Glance 33 and against the local cloud.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from images_fixtures import *  # noqa: F403 - registers image_target and its servers
from images_targets import ImagesTarget, unique

SCHEMAS = ("image", "images", "member", "members", "task", "tasks")


def schema(t: ImagesTarget, name: str) -> dict[str, Any]:
    resp = t.http.get(t.api(f"/v2/schemas/{name}"), headers=t.stranger.headers)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_endpoint_serves_a_json_schema(image_target: ImagesTarget, name: str) -> None:
    """Each schema endpoint answers 200 with a valid JSON Schema named after it."""
    t = image_target

    resp = t.http.get(t.api(f"/v2/schemas/{name}"), headers=t.stranger.headers)

    assert resp.status_code == 200
    doc = resp.json()
    assert doc["name"] == name
    assert isinstance(doc["properties"], dict)
    jsonschema.Draft4Validator.check_schema(doc)


def test_unknown_schema_is_404(image_target: ImagesTarget) -> None:
    """A schema name that does not exist is a 404."""
    t = image_target

    resp = t.http.get(t.api("/v2/schemas/flavor"), headers=t.stranger.headers)

    assert resp.status_code == 404


@pytest.mark.parametrize("name", ["images", "members", "tasks"])
def test_collection_schema_items_are_the_entity(image_target: ImagesTarget, name: str) -> None:
    """A collection schema describes an array under its own name."""
    t = image_target

    doc = schema(t, name)

    assert doc["properties"][name]["type"] == "array"
    assert "properties" in doc["properties"][name]["items"]


def test_image_documents_validate(image_target: ImagesTarget) -> None:
    """Shown, listed and patched images validate against the served image/images schemas."""
    t = image_target
    image = t.make_image(t.owner, unique(), x_colour="red")
    patched = t.patch(t.owner, image, [{"op": "replace", "path": "/tags", "value": ["a"]}])
    listing = t.http.get(t.api("/v2/images"), headers=t.owner.headers, params={"limit": 1000})

    jsonschema.validate(t.image(t.owner, image), schema(t, "image"))
    jsonschema.validate(patched.json(), schema(t, "image"))
    jsonschema.validate(listing.json(), schema(t, "images"))
    jsonschema.validate(t.image(t.stranger, t.public_image), schema(t, "image"))


def test_member_documents_validate(image_target: ImagesTarget) -> None:
    """Member documents and member lists validate against the served member schemas."""
    t = image_target
    image = t.make_image(t.owner, unique())
    url = t.api(f"/v2/images/{image}/members")
    created = t.http.post(url, headers=t.owner.headers, json={"member": t.consumer.tenant})
    updated = t.http.put(
        f"{url}/{t.consumer.tenant}", headers=t.consumer.headers, json={"status": "accepted"}
    )

    jsonschema.validate(created.json(), schema(t, "member"))
    jsonschema.validate(updated.json(), schema(t, "member"))
    jsonschema.validate(t.http.get(url, headers=t.owner.headers).json(), schema(t, "members"))


@pytest.mark.parametrize("name", ["image", "member", "task"])
def test_entity_schemas_require_nothing(image_target: ImagesTarget, name: str) -> None:
    """Entity schemas list no required keys: clients (warlock) build documents from empty."""
    t = image_target

    doc = schema(t, name)

    assert "required" not in doc
    jsonschema.validate({}, doc)
