"""The sync spec: its published schema, the loader's errors (each at its line), the example."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from cloudimages.errors import ConfigurationError
from cloudimages.syncspec import load_spec, parse_spec, schema_text
from cloudimages.syncspec.model import SyncSpec

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "docs" / "sync-spec.schema.json"
EXAMPLE = REPO / "deployments" / "golden-images.yaml"
SHA = "a" * 64

GOOD = f"""\
catalog: golden
targets:
  - account: alice
    regions: [dfw, IAD]
shares:
  - account: bob
images:
  - name: base
    version: "1"
    source: {{file: base.qcow2}}
    checksum: sha256:{SHA}
"""


def problems(text: str) -> str:
    with pytest.raises(ConfigurationError) as caught:
        parse_spec(text, origin="spec.yaml")
    return str(caught.value)


def test_published_schema_is_the_models() -> None:
    """docs/sync-spec.schema.json is exactly what the model publishes (`sync schema`)."""
    assert SCHEMA.read_text() == schema_text()
    assert json.loads(schema_text())["$schema"].endswith("2020-12/schema")


def test_example_spec_is_valid_for_the_model_and_the_schema() -> None:
    """The example the deployment uses loads, and an editor's schema check accepts it."""
    found = load_spec(str(EXAMPLE))
    assert found.spec.catalog == "golden"
    assert [i.source.kind for i in found.spec.images] == ["url", "image"]
    jsonschema.validate(yaml.safe_load(EXAMPLE.read_text()), json.loads(SCHEMA.read_text()))


def test_good_spec_loads_with_lines_and_upper_case_regions(tmp_path: Path) -> None:
    """Regions are upper-cased, and every field's line is known."""
    path = tmp_path / "golden.yaml"
    path.write_text(GOOD)
    found = load_spec(str(path))
    assert found.spec.targets[0].regions == ["DFW", "IAD"]
    assert found.where("images", 0, "checksum") == f"images[0].checksum (line 11 of {path})"
    assert found.file_source(found.spec.images[0]) == str(tmp_path / "base.qcow2")


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            ("    regions: [dfw, IAD]", "    region: DFW"),
            "targets[0].region (line 4): unknown field",
        ),
        (
            ("    checksum: sha256:", "    checksum: md5:"),
            "images[0].checksum (line 11): String should match pattern",
        ),
        (
            (f"    checksum: sha256:{SHA}\n", ""),
            "images[0].source (line 10): a file or url source needs a checksum",
        ),
        (
            ("  - account: bob", "  - account: bob\n    member_id: '42'"),
            "shares[0] (line 6): give exactly one of account (a block) and member_id",
        ),
        (
            ("    source: {file: base.qcow2}", "    source: {file: a, url: 'http://x/y'}"),
            "images[0].source (line 10): give exactly one of file, url and image",
        ),
        (
            ("catalog: golden", "catalog: golden\nnaming: {template: '{name}'}"),
            "naming (line 2): template '{name}' must use {name} and {version}",
        ),
        (
            ('version: "1"', 'version: "1"\n    properties: {cloudimages.sync_name: x}'),
            "images[0].properties (line 10): keys starting with 'cloudimages.' are",
        ),
        (
            ("catalog: golden", "catalog: golden\ncatalog: silver"),
            "catalog (line 2): the key is given twice",
        ),
        (("    regions: [dfw, IAD]", "    regions: [dfw, IAD"), "is not valid YAML: line 5"),
        (("    regions: [dfw, IAD]", "    regions: [dfw, dfw]"), "targets[0] (line 3): alice"),
    ],
)
def test_each_problem_names_its_field_and_line(change: tuple[str, str], said: str) -> None:
    """A bad spec is refused with the field and the line of the problem."""
    assert said in problems(GOOD.replace(*change))


def test_duplicate_image_names_both_entries() -> None:
    """The second copy of an image is refused, naming the first."""
    text = GOOD + "  - name: base\n    version: '1'\n    source: {url: 'http://x/a'}\n"
    text += f"    checksum: {SHA}\n"
    assert "images[1] (line 12): image 'base' version '1' (named 'base 1') is declared" in (
        problems(text)
    )


def test_more_declared_versions_than_kept() -> None:
    """Declaring more versions than retention keeps is refused at the last one."""
    text = GOOD + "  - name: base\n    version: '2'\n    source: {url: 'http://x/a'}\n"
    text += f"    checksum: {SHA}\n    retention: {{keep: 1}}\n"
    assert "images[1].version (line 13): image 'base' declares 2 versions" in problems(text)


def test_every_problem_is_listed_at_once() -> None:
    """Several problems come in one error, in one line."""
    said = problems(GOOD.replace("catalog: golden", "catalog: Golden!\nextra: 1"))
    assert "catalog (line 1): String should match pattern" in said
    assert "extra (line 2): unknown field" in said
    assert "\n" not in said


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_empty_spec(text: str) -> None:
    assert "is empty" in problems(text)


def test_missing_spec_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_spec(str(tmp_path / "nope.yaml"))


def test_model_built_in_code_is_checked_too() -> None:
    """The checks the loader reports with lines also guard specs built in code."""
    data: dict[str, Any] = yaml.safe_load(GOOD)
    data["images"].append(dict(data["images"][0]))
    with pytest.raises(ValueError, match=r"images\.1: image 'base' version '1'"):
        SyncSpec.model_validate(data)
