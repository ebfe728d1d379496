"""What the real-server harnesses (``realswift.py``, ``realglance.py``) have in common.

A cached, pinned venv per service (marker file + file lock + pip install), free loopback
ports, child-process hygiene (die with the parent, terminate then kill), log tails and the
start/stop/``with`` lifecycle (``Service``).
Only the stdlib: this module runs in the project venv and as part of the scripts.
"""

from __future__ import annotations

import atexit
import ctypes
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

REPO = Path(__file__).resolve().parents[2]


def default_cache_dir() -> Path:
    """CI can point the cache elsewhere; locally it lives in the (git-ignored) repo .cache."""
    return Path(os.environ.get("CLOUDIMAGES_CACHE_DIR") or REPO / ".cache")


def install_stamp(requirements: Path) -> str:
    """Marker content: a changed pin list or interpreter invalidates the cached venv."""
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    return f"{digest} python{sys.version_info.major}.{sys.version_info.minor}\n"


def ensure_venv(root: Path, requirements: Path, probe: str) -> Path:
    """Create ``root/venv`` from ``requirements`` once; reuse it while its marker matches.

    ``probe`` is a path inside the venv (e.g. ``bin/python``) that must exist for reuse.
    A file lock serialises parallel sessions; the marker is written only after pip succeeds,
    so an interrupted install is wiped and redone on the next call.
    """
    venv, marker = root / "venv", root / "installed.ok"
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = install_stamp(requirements)
        if marker.is_file() and marker.read_text() == stamp and (venv / probe).exists():
            return venv
        marker.unlink(missing_ok=True)
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin/pip"), "install", "-q", "-r", str(requirements)]
        done = subprocess.run(pip, capture_output=True, text=True, check=False)
        if done.returncode:  # pip's stderr is noisy with harmless local-index warnings
            raise RuntimeError(f"pip install failed:\n{done.stdout}{done.stderr[-4000:]}")
        marker.write_text(stamp)
    return venv


def free_ports(count: int) -> list[int]:
    """Let the kernel pick unused ports (all bound at once, so they are distinct)."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _die_with_parent() -> None:
    """Child pre-exec hook: SIGTERM the server if the test process dies (even by SIGKILL)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def spawn_server(
    cmd: list[str],
    log_path: Path,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start a server in its own session, output appended to ``log_path``, tied to us."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only calls prctl
        )


def terminate(procs: Iterable[subprocess.Popen[bytes]], grace: float) -> None:
    """SIGTERM every process, SIGKILL those still running after ``grace`` seconds; reap all."""
    procs = list(procs)
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _tail(path: Path, lines: int = 30) -> str:
    """Last lines of a server log, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "<no log>"


def _expect(ok: bool, what: str, got: object) -> None:
    """Smoke-check assertion that also works under python -O."""
    if not ok:
        raise RuntimeError(f"smoke check failed: {what}: {got!r}")


class Service:
    """The lifecycle of a harness: ``start`` (or ``with``) runs ``_start``, ``stop`` ``_stop``.

    ``stop`` also runs at interpreter exit and after a failed start, so ``_stop`` must
    cope with a half-started service and with being called twice.
    """

    def _started(self) -> bool:
        raise NotImplementedError

    def _start(self) -> None:
        raise NotImplementedError

    def _stop(self) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        """Start the service (see ``_start``); on any failure stop what did start, re-raise."""
        if self._started():
            raise RuntimeError(f"{type(self).__name__} already started")
        atexit.register(self.stop)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop whatever runs (see ``_stop``), then forget the exit hook."""
        atexit.unregister(self.stop)
        self._stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
