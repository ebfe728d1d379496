"""The background Prefect server: started on first use, reused, protected, stopped whole.

Without PREFECT_API_URL (and an empty profile) the CLI starts a ``prefect
server`` of its own in the background, under this test's data directory, and
later commands reuse it; ``server stop`` ends it and leaves no process behind.
A real server with a new database: slow (15-30 s here).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from base64 import b64encode
from pathlib import Path

import httpx
import pytest

from cloudimages.cli.crashes import AUTOMATION_NAME
from tests.helpers.diskimages import make_qcow2

from .helpers import Cli, describe, prefect_modules

pytestmark = pytest.mark.slow


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == pgid and fields[0] != "Z":
                    members.append(int(entry.name))
    return members


def test_started_on_first_use_reused_protected_and_stopped_whole(cli: Cli, tmp_path: Path) -> None:
    """First command starts it (and sets it up); later ones reuse it; stop ends every process."""
    own = tmp_path / "user"
    bg = cli.without(
        "PREFECT_API_URL",
        PREFECT_HOME=str(own / "prefect-home"),
        XDG_DATA_HOME=str(own / "data"),
        XDG_CACHE_HOME=str(own / "cache"),
    )
    assert bg.json("server", "status")["running"] is False
    pid = None
    try:
        first = bg.ok("accounts", "list", "--json")
        assert "Started a Prefect server in the background" in first.stderr
        assert json.loads(first.stdout) == {"accounts": []}
        status = bg.json("server", "status")
        pid, api = status["pid"], status["api_url"]
        assert status["running"] is True
        assert os.getsid(pid) == pid  # a session of its own: the terminal's Ctrl-C spares it
        assert bg.json("server", "start") | {"up_seconds": 0} == status | {
            "started": False,
            "up_seconds": 0,
        }

        assert httpx.post(f"{api}/block_documents/filter", json={}).status_code == 401
        state = json.loads((own / "data/cloudimages/prefect-server/server.json").read_text())
        auth = {"Authorization": "Basic " + b64encode(state["auth_string"].encode()).decode()}
        automations = httpx.post(f"{api}/automations/filter", json={}, headers=auth).json()
        assert AUTOMATION_NAME in [a["name"] for a in automations]

        bg.ok(  # --overwrite: no lookup before the block class is imported
            "accounts", "add", "bg-alice", "--username", "alice", "--region", "DFW",
            "--identity-url", bg.identity_url, "--api-key", "alice-api-key", "--overwrite",
        )  # fmt: skip
        report = bg.json(
            "import", str(make_qcow2(tmp_path)), "--account", "bg-alice", "--name", "bg-image"
        )
        assert report["image_id"]
        listing = ("images", "list", "--account", "bg-alice", "--name", "bg-image", "--json")
        assert prefect_modules(bg, tmp_path, *listing) == []
        assert [i["id"] for i in bg.json(*listing[:-1])["images"]] == [report["image_id"]]
        assert bg.json("server", "status")["pid"] == pid
    finally:
        stopping = bg.run("server", "stop", "--json")
        if pid is not None and group_members(pid):
            os.killpg(pid, signal.SIGKILL)
    assert stopping.returncode == 0, describe(stopping)
    assert json.loads(stopping.stdout) == {"stopped": True, "pid": pid}
    assert group_members(pid) == []
    assert bg.json("server", "status")["running"] is False
    assert bg.json("server", "stop")["stopped"] is False
