"""`cloudimages accounts add --cloud ENTRY`: OpenStack accounts from clouds.yaml or options.

The clouds.yaml is read by openstacksdk's loader, so ``OS_CLIENT_CONFIG_FILE``
points at it as it would for the openstack CLI. The accounts are Keystone v3
users of the local cloud; bad entries and refused logins are one clear line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cloudimages.localcloud import LocalCloud

from .helpers import Cli, error_line


@pytest.fixture(scope="module")
def clouds_yaml(cloud: LocalCloud, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A clouds.yaml with a password entry, an application-credential-less broken entry."""
    path = tmp_path_factory.mktemp("openstack") / "clouds.yaml"
    user1 = {
        "auth_url": cloud.keystone_url,
        "username": "user1",
        "password": "user1-password",
        "project_name": "demo1",
        "user_domain_name": "Default",
        "project_domain_name": "Default",
    }
    clouds = {
        "clouds": {
            "private": {"auth": user1, "region_name": "RegionOne", "interface": "public"},
            "wrong-project": {"auth": {**user1, "project_name": "nope"}},
            "no-secret": {"auth": {"auth_url": cloud.keystone_url, "username": "user1"}},
        }
    }
    path.write_text(yaml.safe_dump(clouds))
    return {"OS_CLIENT_CONFIG_FILE": str(path)}


def test_add_from_clouds_yaml_logs_in_and_saves(cli: Cli, clouds_yaml: dict[str, str]) -> None:
    """The entry's auth and region become an OpenStack block, verified by logging in."""
    data = cli.json("accounts", "add", "priv", "--cloud", "private", "--overwrite", env=clouds_yaml)
    assert (data["kind"], data["username"], data["region"]) == ("openstack", "user1", "RegionOne")
    assert data["verified"] is True
    listed = cli.json("accounts", "list")["accounts"]
    row = next(r for r in listed if r["name"] == "priv")
    assert row["kind"] == "openstack"
    assert "password" not in row


def test_images_list_works_on_an_openstack_account(
    cli: Cli, clouds_yaml: dict[str, str], disk_image: Path
) -> None:
    """Import into the private cloud, then list it with the same command as Rackspace's."""
    cli.ok("accounts", "add", "priv2", "--cloud", "private", "--overwrite", env=clouds_yaml)
    imported = cli.json("import", str(disk_image), "--account", "priv2", "--name", "cli-os")
    listed = cli.json("images", "list", "--account", "priv2", "--name", "cli-os")
    assert imported["disk_format"] == "qcow2"
    assert [i["id"] for i in listed["images"]] == [imported["image_id"]]


def test_options_work_without_clouds_yaml(cli: Cli, cloud: LocalCloud) -> None:
    """--auth-url with a user, password and project: the same block, no file needed."""
    data = cli.json(
        "accounts", "add", "by-options", "--auth-url", cloud.keystone_url, "--username",
        "user2", "--password", "user2-password", "--project-name", "demo2", "--overwrite",
    )  # fmt: skip
    assert (data["kind"], data["region"]) == ("openstack", "RegionOne")


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("missing", "no cloud 'missing' in clouds.yaml"),
        ("wrong-project", "refused user 'user1'"),
    ],
)
def test_bad_entries_are_one_line_and_save_nothing(
    cli: Cli, clouds_yaml: dict[str, str], entry: str, problem: str
) -> None:
    """A missing entry or a refused login: exit 1, one line, no block saved."""
    line = error_line(cli.run("accounts", "add", "bad-os", "--cloud", entry, env=clouds_yaml))
    assert problem in line
    names = [r["name"] for r in cli.json("accounts", "list")["accounts"]]
    assert "bad-os" not in names


def test_an_entry_without_a_secret_asks_for_it(cli: Cli, clouds_yaml: dict[str, str]) -> None:
    """No password in the entry and none on stdin: a usage error naming --password."""
    result = cli.run("accounts", "add", "nosecret", "--cloud", "no-secret", env=clouds_yaml)
    assert result.returncode == 2
    assert "--password" in result.stderr
