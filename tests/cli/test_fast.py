"""Commands that run no pipeline import no Prefect, and never answer from a stale cache.

They read account blocks over Prefect's REST API (one request, no ``import
prefect``); what Prefect's settings say is cached by a fingerprint of their
inputs. Each test runs the CLI in a subprocess and looks at ``sys.modules`` at
its exit, or changes a setting or a block and checks the next command sees it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .helpers import Cli, error_line, prefect_modules


def test_reading_commands_import_no_prefect_once_the_cache_is_warm(
    cli: Cli, imported: dict[str, Any], tmp_path: Path
) -> None:
    """accounts list, images list/show, server status and --help: no Prefect module loaded."""
    cli.ok("accounts", "list")  # warms the settings cache (a first run may ask Prefect)
    image_id = imported["image_id"]
    for args in (
        ("accounts", "list", "--json"),
        ("images", "list", "--account", "alice", "--json"),
        ("images", "show", image_id, "--account", "alice"),
        ("server", "status"),
        ("--help",),
    ):
        assert prefect_modules(cli, tmp_path, *args) == [], args


def test_a_cold_cache_asks_prefect_in_a_subprocess_only(cli: Cli, tmp_path: Path) -> None:
    """With an empty cache the answer comes from a child process: this one stays free."""
    fresh = cli.without(XDG_CACHE_HOME=str(tmp_path / "cold-cache"))
    assert prefect_modules(fresh, tmp_path, "accounts", "list") == []
    [cached] = (tmp_path / "cold-cache").rglob("prefect-settings.json")
    assert cached.stat().st_mode & 0o777 == 0o600


def test_a_changed_profile_or_project_setting_is_seen_at_once(
    cli: Cli, accounts: dict[str, str], tmp_path: Path
) -> None:
    """The settings cache follows the active profile and a prefect.toml in the directory."""
    url = cli.env["PREFECT_API_URL"]
    home = tmp_path / "prefect-home"
    home.mkdir()
    profiles = home / "profiles.toml"
    by_profile = cli.without("PREFECT_API_URL", PREFECT_HOME=str(home))

    def point_profile_at(target: str) -> None:
        profiles.write_text(f'active = "p"\n[profiles.p]\nPREFECT_API_URL = "{target}"\n')

    point_profile_at(url)
    assert "alice" in [a["name"] for a in by_profile.json("accounts", "list")["accounts"]]
    point_profile_at("http://127.0.0.1:9/api")
    line = error_line(by_profile.run("accounts", "list"))
    assert "127.0.0.1:9" in line
    point_profile_at(url)
    assert "alice" in [a["name"] for a in by_profile.json("accounts", "list")["accounts"]]

    project = tmp_path / "project"
    project.mkdir()
    (project / "prefect.toml").write_text('[api]\nurl = "http://127.0.0.1:9/api"\n')
    line = error_line(by_profile.run("accounts", "list", cwd=project))
    assert "127.0.0.1:9" in line


def test_a_changed_block_is_seen_by_the_next_command(cli: Cli, tmp_path: Path) -> None:
    """Overwrite the block (region, then key), remove it: each next command follows."""

    def add(*extra: str) -> None:
        cli.ok(
            "accounts", "add", "mover", "--username", "alice", "--identity-url",
            cli.identity_url, "--overwrite", *extra,
        )  # fmt: skip

    add("--region", "DFW", "--api-key", "alice-api-key")
    assert cli.json("images", "list", "--account", "mover")["region"] == "DFW"
    add("--region", "IAD", "--api-key", "alice-api-key")
    assert cli.json("images", "list", "--account", "mover")["region"] == "IAD"
    add("--region", "IAD", "--api-key", "a-wrong-key", "--no-verify")
    line = error_line(cli.run("images", "list", "--account", "mover"))
    assert line.startswith("Unauthorized: ")
    cli.ok("accounts", "remove", "mover")
    line = error_line(cli.run("images", "list", "--account", "mover"))
    assert line.startswith("ConfigurationError: ")
    assert "cloudimages accounts add mover" in line
    for folder in ("XDG_CACHE_HOME", "XDG_DATA_HOME"):
        for path in Path(cli.env[folder]).rglob("*"):
            if path.is_file():
                assert b"alice-api-key" not in path.read_bytes(), path
