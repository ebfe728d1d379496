"""Processes for the end-to-end tests: start in their own session, stop by process group.

Every service of the e2e suite (the Prefect server, the local cloud, the
workers, a served process) is a real subprocess started with
``start_new_session=True``, so it and every child it spawns (flow-run
processes) form one process group. Stopping sends SIGINT to the group (what
Ctrl-C does; ``prefect worker`` and ``serve`` shut down cleanly on it), then
SIGKILL to whatever is left, so nothing outlives the session.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import httpx

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PREFECT = str(BIN / "prefect")


@contextlib.contextmanager
def timed(what: str, log: Path) -> Iterator[None]:
    """Append how long ``what`` took to ``log`` (the e2e folder's timings.txt)."""
    began = time.monotonic()
    try:
        yield
    finally:
        with log.open("a") as out:
            out.write(f"{time.monotonic() - began:7.1f} s  {what}\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_environ() -> dict[str, str]:
    """This process's environment without any PREFECT_ setting a test harness may have made."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def wait_for(what: str, check: Callable[[], T | None], *, timeout: float, every: float = 0.5) -> T:
    """Poll ``check`` until it returns something other than None (or raise TimeoutError)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout:.0f} s waiting for {what}"
            raise TimeoutError(msg)
        time.sleep(every)


class Proc:
    """One service subprocess with its output in a log file."""

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        *,
        env: Mapping[str, str],
        log_dir: Path,
        cwd: Path = REPO,
    ) -> None:
        self.name = name
        self.log = log_dir / f"{name}.log"
        self._file = self.log.open("wb")
        self.popen = subprocess.Popen(
            list(args),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def alive(self) -> bool:
        return self.popen.poll() is None

    def expect_alive(self) -> None:
        if not self.alive():
            msg = f"{self.name} exited with {self.popen.returncode}:\n{self.tail()}"
            raise RuntimeError(msg)

    def wait_for_output(self, pattern: str, *, timeout: float) -> re.Match[str]:
        """The first match of ``pattern`` in the log, waiting for it to be written."""

        def check() -> re.Match[str] | None:
            self.expect_alive()
            return re.search(pattern, self.output())

        return wait_for(f"{self.name} to print {pattern!r}", check, timeout=timeout, every=0.2)

    def stop(self, *, grace: float = 10.0) -> None:
        """SIGINT to the process group, then SIGKILL to the group after ``grace`` seconds."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=grace)
        # Children (flow-run processes) may outlive the leader: end the whole group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)
        self._file.close()


def group_members(pgid: int) -> list[int]:
    """PIDs still in process group ``pgid`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def run(
    args: Sequence[str], *, env: Mapping[str, str], timeout: float = 120, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; fail with its output if it fails."""
    done = subprocess.run(
        list(args),
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        start_new_session=True,
    )
    if done.returncode != 0:
        msg = (
            f"{' '.join(args)} exited with {done.returncode}\n"
            f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"
        )
        raise AssertionError(msg)
    return done


def run_all(
    commands: Sequence[Sequence[str]], *, env: Mapping[str, str], timeout: float = 120
) -> list[str]:
    """Run independent commands at once (start-up costs overlap); their stdout, in order."""
    started = [
        subprocess.Popen(
            list(args),
            env=dict(env),
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for args in commands
    ]
    outputs = [popen.communicate(timeout=timeout) for popen in started]
    for args, popen, (out, err) in zip(commands, started, outputs, strict=True):
        if popen.returncode != 0:
            msg = (
                f"{' '.join(args)} exited with {popen.returncode}\n"
                f"--- stdout\n{out[-4000:]}\n--- stderr\n{err[-4000:]}"
            )
            raise AssertionError(msg)
    return [out for out, _ in outputs]


def http_ok(url: str) -> bool | None:
    """True when ``url`` answers 200, None otherwise (for ``wait_for``)."""
    try:
        return True if httpx.get(url, timeout=2).status_code == 200 else None
    except httpx.HTTPError:
        return None
