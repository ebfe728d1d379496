"""`cloudimages accounts add|list|remove`: keys come from an option, the environment or stdin,
are checked by logging in, and are never printed."""

from __future__ import annotations

from .helpers import Cli, error_line

KEYS = ("alice-api-key", "bob-api-key", "carol-api-key")


def test_add_takes_the_key_from_the_option_and_logs_in(cli: Cli) -> None:
    """--api-key saves the block after a login; the output names the tenant, not the key."""
    data = cli.json(
        "accounts", "add", "opt-alice", "--username", "alice", "--region", "dfw",
        "--identity-url", cli.identity_url, "--api-key", "alice-api-key", "--overwrite",
    )  # fmt: skip
    assert data["verified"] is True
    assert (data["name"], data["username"], data["region"]) == ("opt-alice", "alice", "DFW")
    assert data["tenant_id"].isdigit()
    assert "alice-api-key" not in str(data)


def test_add_takes_the_key_from_the_environment(cli: Cli) -> None:
    """CLOUDIMAGES_API_KEY is used when --api-key is absent."""
    result = cli.ok(
        "accounts", "add", "env-bob", "--username", "bob", "--region", "DFW",
        "--identity-url", cli.identity_url, "--overwrite",
        env={"CLOUDIMAGES_API_KEY": "bob-api-key"},
    )  # fmt: skip
    assert "Saved account block env-bob" in result.stdout
    assert "bob-api-key" not in result.stdout + result.stderr


def test_add_reads_one_line_of_stdin_when_it_is_not_a_terminal(cli: Cli) -> None:
    """With no option and no variable, a piped key works (as a hidden prompt would)."""
    cli.ok(
        "accounts", "add", "stdin-carol", "--username", "carol", "--region", "IAD",
        "--identity-url", cli.identity_url, "--overwrite", stdin="carol-api-key\n",
    )  # fmt: skip
    names = [a["name"] for a in cli.json("accounts", "list")["accounts"]]
    assert "stdin-carol" in names


def test_add_without_any_key_is_a_usage_error(cli: Cli) -> None:
    """No key anywhere: exit 2, saying where a key can come from."""
    result = cli.run(
        "accounts", "add", "nokey", "--username", "alice", "--identity-url", cli.identity_url
    )
    assert result.returncode == 2
    assert "CLOUDIMAGES_API_KEY" in result.stderr


def test_a_wrong_key_is_one_line_and_nothing_is_saved(cli: Cli) -> None:
    """Identity refuses the key: exit 1, `Unauthorized: ...`, no block."""
    result = cli.run(
        "accounts", "add", "wrong-key", "--username", "alice", "--region", "DFW",
        "--identity-url", cli.identity_url, "--api-key", "not-alices-key",
    )  # fmt: skip
    line = error_line(result)
    assert line.startswith("Unauthorized: ")
    assert "alice" in line
    assert "not-alices-key" not in result.stderr
    names = [a["name"] for a in cli.json("accounts", "list")["accounts"]]
    assert "wrong-key" not in names


def test_an_unknown_region_is_one_line(cli: Cli) -> None:
    """A region the account has no Cloud Images endpoint in: exit 1, the regions it has."""
    result = cli.run(
        "accounts", "add", "syd", "--username", "alice", "--region", "SYD",
        "--identity-url", cli.identity_url, "--api-key", "alice-api-key",
    )  # fmt: skip
    line = error_line(result)
    assert line.startswith("ConfigurationError: ")
    assert "SYD" in line
    assert "DFW" in line


def test_an_existing_block_is_kept_without_overwrite(cli: Cli, accounts: dict[str, str]) -> None:
    """Adding a name that exists fails with a hint at --overwrite, before asking for a key."""
    result = cli.run("accounts", "add", "alice", "--username", "mallory")
    line = error_line(result)
    assert line.startswith("ConfigurationError: ")
    assert "--overwrite" in line


def test_an_invalid_block_name_is_a_usage_error(cli: Cli) -> None:
    """Block names are lowercase letters, digits and dashes."""
    result = cli.run("accounts", "add", "Not_Valid", "--username", "alice", "--api-key", "k")
    assert result.returncode == 2
    assert "lowercase" in result.stderr


def test_no_verify_saves_without_logging_in(cli: Cli) -> None:
    """--no-verify saves a block for an Identity that is not reachable now."""
    data = cli.json(
        "accounts", "add", "offline", "--username", "someone", "--no-verify", "--overwrite",
        "--identity-url", "http://127.0.0.1:9/v2.0", "--api-key", "secret-offline-key",
    )  # fmt: skip
    assert data["verified"] is False
    assert "tenant_id" not in data


def test_list_shows_names_users_regions_and_no_key(cli: Cli, accounts: dict[str, str]) -> None:
    """Both the table and the JSON leave every API key out."""
    table = cli.ok("accounts", "list")
    listed = cli.json("accounts", "list")
    by_name = {a["name"]: a for a in listed["accounts"]}
    for name, region in accounts.items():
        assert by_name[name]["username"] == name
        assert by_name[name]["region"] == region
        assert by_name[name]["identity_url"] == cli.identity_url
        assert "api_key" not in by_name[name]
        assert name in table.stdout
    for key in (*KEYS, "secret-offline-key"):
        assert key not in table.stdout
        assert key not in str(listed)


def test_remove_deletes_a_block_and_says_so_for_an_unknown_one(cli: Cli) -> None:
    """remove deletes; removing again is a one-line ConfigurationError."""
    cli.ok(
        "accounts", "add", "to-remove", "--username", "x", "--no-verify", "--overwrite",
        "--identity-url", cli.identity_url, "--api-key", "k",
    )  # fmt: skip
    cli.ok("accounts", "remove", "to-remove")
    line = error_line(cli.run("accounts", "remove", "to-remove"))
    assert line.startswith("ConfigurationError: ")
    assert "to-remove" in line
