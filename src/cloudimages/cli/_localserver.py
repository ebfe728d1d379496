"""The CLI's own Prefect server: started in the background on first use, reused after.

When no Prefect API is configured, a pipeline would otherwise start a temporary
server for every command (8-17 s each). Instead the CLI starts one ``prefect
server`` (the uvicorn app ``prefect server start --background`` runs; started
here in a session of its own with its output in a log file, so it survives the
terminal and nothing blocks on an unread pipe) on a free port of 127.0.0.1,
with a Prefect home of its own under the user's data directory (SQLite, task-run
recorder batches of 100, analytics off) and a random auth string, so other
users of the machine cannot read account blocks through it. Its pid, URL and
auth string are kept in ``server.json`` (0600); a command reuses the server
while that process answers, and ``cloudimages server stop`` ends it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from base64 import b64encode
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import httpx

from ..errors import ConfigurationError
from ._dirs import data_dir, private_dir, write_private

__all__ = ["Server", "ensure", "running", "server_dir", "start", "stop"]

STARTUP_TIMEOUT = 120.0  # a new database takes 11-15 s here; a loaded machine much longer
STOP_TIMEOUT = 15.0
HOST = "127.0.0.1"
USER = "cloudimages"
#: The server's settings (prefect-notes: G1 the SQLite recorder lock, G6 analytics).
SERVER_SETTINGS = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    "PREFECT__SERVER_FINAL": "1",
}


@dataclass(frozen=True)
class Server:
    """A background server this CLI started (what ``server.json`` holds)."""

    pid: int
    port: int
    auth_string: str
    home: str
    started_at: float
    prefect_version: str

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Basic {b64encode(self.auth_string.encode()).decode()}"}


def server_dir() -> Path:
    return data_dir() / "prefect-server"


def _state_path() -> Path:
    return server_dir() / "server.json"


def log_path() -> Path:
    return server_dir() / "server.log"


def recorded() -> Server | None:
    """The server ``server.json`` names, whether or not it still runs."""
    try:
        return Server(**json.loads(_state_path().read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def running() -> Server | None:
    """The recorded server if its process is alive and answers; None otherwise."""
    server = recorded()
    if server is None or not _alive(server.pid):
        return None
    try:
        answer = httpx.get(f"{server.api_url}/health", timeout=5.0)
    except httpx.HTTPError:
        return None
    return server if answer.status_code == 200 else None


def ensure() -> tuple[Server, bool]:
    """The running server, started first if there is none; True when it was just started."""
    found = running()
    if found is not None:
        return found, False
    with _locked():  # another command may be starting it right now
        found = running()
        if found is not None:
            return found, False
        return _start(), True


def start() -> tuple[Server, bool]:
    """``ensure`` under the name the command uses."""
    return ensure()


def stop() -> Server | None:
    """Stop the recorded server and every process of its session; None if none ran."""
    with _locked():
        server = recorded()
        if server is None:
            return None
        if _alive(server.pid):
            _end_session(server.pid)
        _state_path().unlink(missing_ok=True)
        return server


def _start() -> Server:
    home = private_dir(server_dir())
    _clean_leftover()
    port = _free_port()
    server = Server(
        pid=0,
        port=port,
        auth_string=f"{USER}:{secrets.token_urlsafe(24)}",
        home=str(home),
        started_at=time.time(),
        prefect_version=metadata.version("prefect"),
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= SERVER_SETTINGS | {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_API_AUTH_STRING": server.auth_string,
        "PREFECT_API_AUTH_STRING": server.auth_string,
        "PREFECT_API_URL": server.api_url,
        "PREFECT_SERVER_UI_API_URL": server.api_url,  # prefect-notes G5: a non-default port
    }
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app",
        "--host", HOST, "--port", str(port), "--log-level", "warning", "--lifespan", "on",
    ]  # fmt: skip
    with log_path().open("w") as log:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=home,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # not stopped by the terminal's Ctrl-C; one group to end
        )
    server = Server(**(asdict(server) | {"pid": process.pid}))
    write_private(_state_path(), json.dumps(asdict(server), indent=1))
    _wait_healthy(server, process)
    return server


def _wait_healthy(server: Server, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _state_path().unlink(missing_ok=True)
            msg = f"the Prefect server exited while starting (code {process.returncode}); {_tail()}"
            raise ConfigurationError(msg)
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.api_url}/health", timeout=2.0).status_code == 200:
                return
        time.sleep(0.1)
    _end_session(process.pid)
    _state_path().unlink(missing_ok=True)
    msg = f"the Prefect server did not answer within {STARTUP_TIMEOUT:.0f} s; {_tail()}"
    raise ConfigurationError(msg)


def _tail() -> str:
    try:
        lines = log_path().read_text(errors="replace").strip().splitlines()
    except FileNotFoundError:
        lines = []
    return f"last lines of {log_path()}: {' | '.join(lines[-3:]) or '(empty)'}"


def _clean_leftover() -> None:
    """A recorded server whose process lives but does not answer is ended first."""
    server = recorded()
    if server is not None and _alive(server.pid):
        _end_session(server.pid)
    _state_path().unlink(missing_ok=True)


def _end_session(pid: int) -> None:
    """SIGTERM the server's process group, then SIGKILL what is left after STOP_TIMEOUT."""
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _group_alive(pid):
                return
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    """True for a live process that is a uvicorn (a recycled pid is not ours)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"uvicorn" in cmdline and b"prefect.server" in cmdline


def _group_alive(pgid: int) -> bool:
    """True while a process of the group lives (zombies of it reaped, if ours, or ignored)."""
    _reap(pgid)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == pgid and fields[0] != "Z":
                    return True
    return False


def _reap(pid: int) -> None:
    """Collect the exit status of a server this very process started (else a zombie stays)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """One command at a time starts or stops the server (a lock file in its directory)."""
    lock = private_dir(server_dir()) / "server.lock"
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
