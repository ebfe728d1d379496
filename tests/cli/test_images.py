"""`cloudimages images list|show` and `cloudimages accept`: direct client calls, no flow run."""

from __future__ import annotations

from typing import Any

from .helpers import Cli, error_line


def test_list_json_has_the_imported_image(cli: Cli, imported: dict[str, Any]) -> None:
    """--json prints {"region", "images": [...]}, with properties and tags."""
    data = cli.json("images", "list", "--account", "alice", "--tag", "cli")
    assert data["region"] == "DFW"
    by_id = {image["id"]: image for image in data["images"]}
    image = by_id[imported["image_id"]]
    assert image["status"] == "active"
    assert image["name"] == "cli-test-image"
    assert image["com.example.role"] == "test"
    assert "cli" in image["tags"]


def test_list_filters_and_limits(cli: Cli, imported: dict[str, Any]) -> None:
    """--visibility private shows alice's own image; --limit caps the count."""
    private = cli.json("images", "list", "--account", "alice", "--visibility", "private")
    assert imported["image_id"] in {i["id"] for i in private["images"]}
    assert all(i["visibility"] == "private" for i in private["images"])
    one = cli.json("images", "list", "--account", "alice", "--limit", "1")
    assert len(one["images"]) == 1
    named = cli.json("images", "list", "--account", "alice", "--name", "no-such-name")
    assert named["images"] == []


def test_list_table_names_the_image(cli: Cli, imported: dict[str, Any]) -> None:
    """Without --json: a table with the full image id."""
    result = cli.ok("images", "list", "--account", "alice")
    assert imported["image_id"] in result.stdout
    assert "cli-test-image" in result.stdout


def test_show_json_is_the_image_with_its_members(cli: Cli, imported: dict[str, Any]) -> None:
    """show --json prints the image (properties included) and, for the owner, its members."""
    data = cli.json("images", "show", imported["image_id"], "--account", "alice")
    assert data["id"] == imported["image_id"]
    assert data["cloudimages.source_sha256"] == imported["sha256"]
    assert isinstance(data["members"], list)
    table = cli.ok("images", "show", imported["image_id"], "--account", "alice")
    assert "com.example.role" in table.stdout


def test_show_an_unknown_image_is_one_line(cli: Cli, accounts: dict[str, str]) -> None:
    """A missing image: exit 1, `NotFound: ...` naming it."""
    line = error_line(cli.run("images", "show", "no-such-image", "--account", "alice"))
    assert line.startswith("NotFound: ")
    assert "no-such-image" in line


def test_an_unknown_account_is_one_line(cli: Cli, accounts: dict[str, str]) -> None:
    """An unknown block name: exit 1, saying how to create it."""
    line = error_line(cli.run("images", "list", "--account", "nobody"))
    assert line.startswith("ConfigurationError: ")
    assert "'nobody'" in line
    assert "cloudimages accounts add nobody" in line


def test_an_unreachable_prefect_api_is_one_line(cli: Cli) -> None:
    """PREFECT_API_URL pointing nowhere: exit 1, naming the URL."""
    dead = {"PREFECT_API_URL": "http://127.0.0.1:9/api", "PREFECT_CLIENT_MAX_RETRIES": "0"}
    line = error_line(cli.run("images", "list", "--account", "alice", env=dead))
    assert line.startswith("ConfigurationError: ")
    assert "127.0.0.1:9" in line


def test_accept_makes_a_pending_share_visible(cli: Cli, imported: dict[str, Any]) -> None:
    """share without --accept leaves bob pending; `accept` as bob makes it accepted."""
    image_id = imported["image_id"]
    shared = cli.json("share", image_id, "--account", "alice", "--with", "bob")
    assert [c["account"] for c in shared["consumers"]] == ["bob"]
    accepted = cli.json("accept", image_id, "--account", "bob")
    assert accepted["status"] == "accepted"
    assert accepted["image_id"] == image_id
    seen = cli.json("images", "list", "--account", "bob", "--visibility", "shared")
    assert image_id in {i["id"] for i in seen["images"]}


def test_accept_an_image_not_shared_is_one_line(cli: Cli, imported: dict[str, Any]) -> None:
    """carol was never offered the image: exit 1, NotFound."""
    line = error_line(cli.run("accept", imported["image_id"], "--account", "carol"))
    assert line.startswith("NotFound: ")
