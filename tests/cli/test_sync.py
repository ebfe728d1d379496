"""`cloudimages sync plan|apply|schema`: exit codes, tables, JSON, and confirmed deletions."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml

from tests.helpers.diskimages import make_qcow2

from .helpers import Cli, describe, error_line

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "sync-spec.schema.json"


def write_spec(folder: Path, versions: list[str], **more: object) -> Path:
    """One image, in the given versions, in alice (DFW) and carol (IAD), shared with bob."""
    images = []
    for version in versions:
        disk = make_qcow2(folder, f"cli-sync-{version}.qcow2")
        digest = hashlib.sha256(disk.read_bytes()).hexdigest()
        source = {"file": disk.name}
        images.append({"name": "cli-os", "version": version, "source": source, "checksum": digest})
    spec = {
        "catalog": "cli",
        "targets": [{"account": "alice"}, {"account": "carol"}],
        "shares": [{"account": "bob"}],
        **more,
        "images": images,
    }
    path = folder / "golden.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_a_bad_spec_is_one_line_before_prefect_starts(cli: Cli, tmp_path: Path) -> None:
    """Exit 1 and one line naming the field and line; no flow run is needed for that."""
    spec = tmp_path / "bad.yaml"
    spec.write_text("catalog: cli\ntargets: [{account: alice}]\nimages: []\nextra: 1\n")
    line = error_line(cli.run("sync", "plan", str(spec)))
    assert line.startswith(f"ConfigurationError: sync spec {spec} is not valid: images (line 3)")
    assert "extra (line 4): unknown field" in line


def test_plan_apply_plan_and_exit_codes(cli: Cli, accounts: dict[str, str], tmp_path: Path) -> None:
    """plan exits 4 with a table, apply makes it so (--json), the next plan exits 0."""
    spec = write_spec(tmp_path, ["1"])

    planned = cli.run("sync", "plan", str(spec))
    assert planned.returncode == 4, describe(planned)
    assert "create, share" in planned.stdout
    assert "alice/DFW" in planned.stdout
    assert "carol/IAD" in planned.stdout
    assert "6 change(s) would be made" in planned.stdout

    applied = cli.json("sync", "apply", str(spec))
    assert (applied["mode"], applied["changes"], applied["failed"]) == ("apply", 6, 0)
    statuses = {op["status"] for row in applied["rows"] for op in row["ops"]}
    assert statuses == {"done"}

    again = cli.run("sync", "plan", str(spec), "--json")
    assert again.returncode == 0, describe(again)
    assert json.loads(again.stdout)["changes"] == 0


def test_prune_deletes_only_what_is_confirmed(
    cli: Cli, accounts: dict[str, str], tmp_path: Path
) -> None:
    """--prune without a terminal asks for --yes and changes nothing; --yes deletes."""
    more = {"catalog": "cli-prune", "retention": {"keep": 1, "retire": "delete"}}
    cli.ok("sync", "apply", str(write_spec(tmp_path, ["1"], **more)))
    spec = write_spec(tmp_path, ["2"], **more)  # version 1 is now beyond retention

    refused = cli.run("sync", "apply", str(spec), "--prune")
    line = error_line(refused)
    assert "--prune would delete 2 image(s)" in refused.stderr
    assert line.endswith("pass --yes to delete them. Nothing was changed.")

    pruned = cli.json("sync", "apply", str(spec), "--prune", "--yes")
    done = [
        (op["kind"], op["version"], op["status"]) for row in pruned["rows"] for op in row["ops"]
    ]
    assert done.count(("create", "2", "done")) == 2
    assert done.count(("delete", "1", "done")) == 2
    assert pruned["failed"] == 0


def test_schema_is_the_published_one(cli: Cli) -> None:
    assert cli.ok("sync", "schema").stdout == SCHEMA.read_text()
