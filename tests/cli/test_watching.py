"""Progress a person can watch: bars on a terminal, nothing but JSON with --json.

The CLI runs with stderr on a pseudo-terminal (stdout a pipe, as when a user
redirects the report), and what the terminal received is read back.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path
from typing import Any

from tests.helpers.diskimages import make_qcow2

from .helpers import Cli

BAR = "━"  # rich.progress draws its bars with this character
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # colours and cursor moves
RATE = re.compile(r"Upload \S+: [\d.]+ (B|KiB|MiB|GiB) in [\d.]+ s, [\d.]+ (B|KiB|MiB|GiB)/s")


def on_a_terminal(cli: Cli, *args: str) -> tuple[int, str, str]:
    """Run a command with stderr on a 120-column pty: exit code, stdout, the terminal's text.

    The text is what the terminal received without its escape sequences.
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**cli.env, "TERM": "xterm-256color", "COLUMNS": "120"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cloudimages.cli", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    received: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                return
            if not data:
                return
            received.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        out, _ = proc.communicate(timeout=240)
    finally:
        proc.kill()
        reader.join(timeout=10)
        os.close(master)
    text = b"".join(received).decode(errors="replace")
    return proc.returncode, out.decode(), ESCAPES.sub("", text)


def test_an_import_on_a_terminal_shows_bars_rates_and_the_task_wait(
    cli: Cli, accounts: dict[str, Any], tmp_path: Path
) -> None:
    """Convert, upload (bytes and rate) and the import task's status and time appear."""
    source = make_qcow2(tmp_path, "watched.qcow2")

    code, out, terminal = on_a_terminal(
        cli, "import", str(source), "--account", "alice", "--name", "watched"
    )

    assert code == 0, terminal
    assert BAR in terminal
    assert "Upload " in terminal
    assert "Convert watched.qcow2" in terminal
    assert RATE.search(terminal), terminal  # the finished upload's line: size, time and rate
    assert "Import task in DFW: success after" in terminal
    assert "✓ stage-image" in terminal
    assert "image_id" in out  # the report went to stdout, plain
    assert "\x1b" not in out


def test_json_on_a_terminal_prints_no_progress(
    cli: Cli, accounts: dict[str, Any], tmp_path: Path
) -> None:
    """With --json: stdout is one JSON object, and the terminal gets no bar at all."""
    source = make_qcow2(tmp_path, "quiet.qcow2")

    code, out, terminal = on_a_terminal(
        cli, "import", str(source), "--account", "alice", "--name", "quiet", "--json"
    )

    assert code == 0, terminal
    assert json.loads(out)["image_id"]
    assert BAR not in terminal
    assert "Upload" not in terminal
