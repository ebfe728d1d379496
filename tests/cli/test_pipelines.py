"""`cloudimages import|share|replicate|export`: flows run by the CLI, reports as JSON."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from .helpers import Cli, error_line


def test_import_json_has_the_image_id(imported: dict[str, Any], disk_image: Path) -> None:
    """import --json prints the flow's report: image id, source hash, tags and properties."""
    assert imported["image_id"]
    assert imported["skipped"] is False
    assert imported["converted"] is True
    assert imported["source"] == str(disk_image)
    assert imported["properties"]["com.example.role"] == "test"
    assert imported["tags"] == ["cli"]


def test_import_again_is_skipped(cli: Cli, imported: dict[str, Any], disk_image: Path) -> None:
    """A second import of the same content and name creates nothing and says so."""
    again = cli.json("import", str(disk_image), "--account", "alice", "--name", "cli-test-image")
    assert again["skipped"] is True
    assert again["image_id"] == imported["image_id"]


def test_import_prints_a_summary_without_json(cli: Cli, tmp_path: Path) -> None:
    """Without --json: the report as a list and a table of steps, on stdout."""
    raw = tmp_path / "small.raw"
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(raw), "1M"], check=True)
    result = cli.ok("import", str(raw), "--account", "bob", "--name", "cli-summary")
    assert "Import" in result.stdout
    assert "image_id" in result.stdout
    assert "Steps" in result.stdout


def test_import_a_missing_file_is_one_line(cli: Cli, tmp_path: Path) -> None:
    """A path that does not exist: exit 1, DiskImageError naming it, no flow run."""
    missing = tmp_path / "nope.qcow2"
    line = error_line(cli.run("import", str(missing), "--account", "alice", "--name", "x"))
    assert line.startswith("DiskImageError: ")
    assert str(missing) in line


def test_import_into_an_unknown_account_is_one_line(cli: Cli, disk_image: Path) -> None:
    """The flow fails to load the block: exit 1, one line, Prefect's traceback not shown."""
    line = error_line(cli.run("import", str(disk_image), "--account", "nobody", "--name", "x"))
    assert line.startswith("ConfigurationError: ")
    assert "'nobody'" in line


def test_import_with_debug_shows_the_traceback(cli: Cli, disk_image: Path) -> None:
    """--debug (anywhere on the line) adds the traceback before the error line."""
    args = ("import", str(disk_image), "--account", "nobody", "--name", "x", "--debug")
    result = cli.run(*args)
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("ConfigurationError: ")


def test_bad_property_is_a_usage_error(cli: Cli, disk_image: Path) -> None:
    """--property without '=' is exit 2."""
    args = ("import", str(disk_image), "--account", "alice", "--name", "x", "--property", "k")
    result = cli.run(*args)
    assert result.returncode == 2
    assert "KEY=VALUE" in result.stderr


def test_share_with_accept_accepts_for_the_consumer(
    cli: Cli, accounts: dict[str, str], tmp_path: Path
) -> None:
    """share --accept: bob is a member with status accepted, and lists the image."""
    raw = tmp_path / "share.raw"
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(raw), "2M"], check=True)
    image_id = cli.json("import", str(raw), "--account", "alice", "--name", "cli-share")["image_id"]
    report = cli.json("share", image_id, "--account", "alice", "--with", "bob", "--accept")
    assert report["image_id"] == image_id
    [entry] = report["consumers"]
    assert (entry["account"], entry["status"]) == ("bob", "accepted")
    seen = cli.json("images", "list", "--account", "bob", "--visibility", "shared")
    assert image_id in {i["id"] for i in seen["images"]}


def test_share_with_yourself_is_one_line(cli: Cli, imported: dict[str, Any]) -> None:
    """Sharing with the owner's own block: exit 1, ConfigurationError."""
    line = error_line(
        cli.run("share", imported["image_id"], "--account", "alice", "--with", "alice")
    )
    assert line.startswith("ConfigurationError: ")


def test_replicate_json_has_one_entry_per_target(cli: Cli, imported: dict[str, Any]) -> None:
    """replicate --json: {"targets": [...]}, each with image_id and skipped; a rerun skips all."""
    image_id = imported["image_id"]
    args = ("replicate", image_id, "--from", "alice", "--to", "carol", "--to", "bob")
    report = cli.json(*args)
    targets = {t["account"]: t for t in report["targets"]}
    assert set(targets) == {"carol", "bob"}
    assert targets["carol"]["region"] == "IAD"
    assert targets["carol"]["mode"] == "copy"
    assert targets["carol"]["image_id"] not in (None, image_id)
    assert targets["bob"]["mode"] == "share"
    assert targets["bob"]["image_id"] == image_id
    for target in targets.values():
        assert isinstance(target["skipped"], bool)
    carol = cli.json("images", "show", targets["carol"]["image_id"], "--account", "carol")
    assert carol["status"] == "active"
    again = cli.json(*args)
    assert all(t["skipped"] for t in again["targets"])
    assert {t["account"]: t["image_id"] for t in again["targets"]} == {
        name: t["image_id"] for name, t in targets.items()
    }


def test_replicate_to_the_same_account_is_one_line(cli: Cli, imported: dict[str, Any]) -> None:
    """Replicating to the source account itself: exit 1, ConfigurationError."""
    args = ("replicate", imported["image_id"], "--from", "alice", "--to", "alice")
    assert error_line(cli.run(*args)).startswith("ConfigurationError: ")


def test_replicate_rejects_an_unknown_mode(cli: Cli) -> None:
    """--mode is one of auto, share, copy: anything else is exit 2."""
    result = cli.run("replicate", "x", "--from", "alice", "--to", "bob", "--mode", "teleport")
    assert result.returncode == 2


def test_export_downloads_and_compares(
    cli: Cli, imported: dict[str, Any], disk_image: Path, tmp_path: Path
) -> None:
    """export --download-to --compare-with: the VHD is on disk and qemu-img compare matched."""
    target = tmp_path / "exported.vhd"
    report = cli.json(
        "export", imported["image_id"], "--account", "alice", "--container", "cli-exports",
        "--download-to", str(target), "--compare-with", str(disk_image),
    )  # fmt: skip
    assert report["image_id"] == imported["image_id"]
    assert report["container"] == "cli-exports"
    assert report["compared"] is True
    assert target.is_file()
    assert report["size"] == target.stat().st_size


def test_export_to_an_invalid_container_is_one_line(cli: Cli, imported: dict[str, Any]) -> None:
    """A container name Cloud Images refuses: exit 1 before any task is created."""
    args = ("export", imported["image_id"], "--account", "alice", "--container", "a/b")
    assert error_line(cli.run(*args)).startswith("ConfigurationError: ")
