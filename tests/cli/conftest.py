"""The CLI under test runs in subprocesses, against one local cloud and one Prefect API.

The Prefect API is ``prefect_test_harness`` started once per session in this
process; its URL is passed to every CLI subprocess as ``PREFECT_API_URL`` so
none of them starts its own temporary server (8-17 s each).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cloudimages.localcloud import LocalCloud, LocalCloudSettings
from tests.helpers.diskimages import make_qcow2

from .helpers import Cli

# Prefect is imported only inside fixtures, after these (prefect-notes.md §7).
if "PREFECT_HOME" not in os.environ:
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="cloudimages-cli-tests-")
    atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], True)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE", "100")

ACCOUNTS = {"alice": "DFW", "bob": "DFW", "carol": "IAD"}


@pytest.fixture(scope="session")
def prefect_api_url() -> Iterator[str]:
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        url = PREFECT_API_URL.value()
        assert url
        yield str(url)


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    settings = LocalCloudSettings(data_dir=tmp_path_factory.mktemp("cli-localcloud"))
    with LocalCloud(settings) as running:
        yield running


@pytest.fixture(scope="session")
def cli(prefect_api_url: str, cloud: LocalCloud, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """Runs ``python -m cloudimages.cli`` with the session's Prefect API in its environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CLOUDIMAGES_"))}
    own = tmp_path_factory.mktemp("cli-user")  # the CLI's cache and data dirs: this session's
    env |= {
        "PREFECT_API_URL": prefect_api_url,
        "PREFECT_HOME": str(tmp_path_factory.mktemp("cli-prefect-home")),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "XDG_CACHE_HOME": str(own / "cache"),
        "XDG_DATA_HOME": str(own / "data"),
        "COLUMNS": "200",
    }
    return Cli(env=env, identity_url=cloud.identity_url)


@pytest.fixture(scope="session")
def accounts(cli: Cli) -> dict[str, str]:
    """Blocks alice, bob (DFW) and carol (IAD) on the local cloud, saved through the CLI."""
    for name, region in ACCOUNTS.items():
        cli.ok(
            "accounts", "add", name, "--username", name, "--region", region,
            "--identity-url", cli.identity_url, "--api-key", f"{name}-api-key", "--overwrite",
        )  # fmt: skip
    return ACCOUNTS


@pytest.fixture(scope="session")
def disk_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4 MiB qcow2 with random data and a 0x5a pattern (made by qemu-img and qemu-io)."""
    return make_qcow2(tmp_path_factory.mktemp("cli-images"))


@pytest.fixture(scope="session")
def imported(cli: Cli, accounts: dict[str, str], disk_image: Path) -> dict[str, Any]:
    """The ``import --json`` report of ``disk_image`` imported into alice."""
    return cli.json(
        "import", str(disk_image), "--account", "alice", "--name", "cli-test-image",
        "--tag", "cli", "--property", "com.example.role=test",
    )  # fmt: skip
