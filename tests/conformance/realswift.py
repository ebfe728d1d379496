"""Install, start and stop a real one-replica OpenStack Swift 2.38.3 cluster on 127.0.0.1.

Swift runs from its own venv (pinned by ``requirements-swift.txt``) as four real servers
(proxy, account, container, object) with tempauth and Fernet tokens, so no memcached is
needed.  This module itself only uses the stdlib and httpx: it runs in the project venv.

    python tests/conformance/realswift.py   # install into <repo>/.cache, start, smoke-check, stop
"""

from __future__ import annotations

import atexit
import base64
import ctypes
import fcntl
import getpass
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

SWIFT_VERSION = "2.38.3"
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
REQUIREMENTS = HERE / "requirements-swift.txt"
SERVERS = ("account", "container", "object", "proxy")
DEFAULT_MAX_FILE_SIZE = 5368709122  # Swift's own default constraint, left unchanged
# tempauth users: "account:user" -> key.  test3:tester3 is deliberately not an admin (ACL tests).
USERS = {
    "admin:admin": "admin",
    "test:tester": "testing",
    "test2:tester2": "testing2",
    "test3:tester3": "testing3",
}
PROXY_PIPELINE = (
    "catch_errors gatekeeper healthcheck proxy-logging listing_formats bulk tempurl "
    "tempauth copy slo dlo proxy-logging proxy-server"
)
PROXY_FILTERS = ("catch_errors", "gatekeeper", "healthcheck", "proxy-logging")
PROXY_FILTERS += ("listing_formats", "bulk", "tempurl", "copy", "slo", "dlo")

_RING_SCRIPT = """
import json, sys
from swift.common.ring import RingBuilder
etc, ports = sys.argv[1], json.loads(sys.argv[2])
for name, port in ports.items():
    b = RingBuilder(8, 1, 1)
    b.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": port,
               "device": "d1", "weight": 100, "meta": ""})
    b.rebalance(seed=1)
    b.save(f"{etc}/{name}.builder")
    b.get_ring().save(f"{etc}/{name}.ring.gz")
"""


def default_cache_dir() -> Path:
    """CI can point the cache elsewhere; locally it lives in the (git-ignored) repo .cache."""
    return Path(os.environ.get("CLOUDIMAGES_CACHE_DIR") or REPO / ".cache")


def _install_stamp() -> str:
    """Marker content: a changed pin list or interpreter invalidates the cached venv."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    return f"{digest} python{sys.version_info.major}.{sys.version_info.minor}\n"


def ensure_swift_installed(cache_dir: Path) -> Path:
    """Create ``cache_dir/swift-<ver>/venv`` once; reuse it while its marker matches.

    A file lock serialises parallel sessions; the marker is written only after pip succeeds,
    so an interrupted install is wiped and redone on the next call.
    """
    root = Path(cache_dir).resolve() / f"swift-{SWIFT_VERSION}"
    venv, marker = root / "venv", root / "installed.ok"
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = _install_stamp()
        if marker.is_file() and marker.read_text() == stamp and (venv / "bin/python").exists():
            return venv
        marker.unlink(missing_ok=True)
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin/pip"), "install", "-q", "-r", str(REQUIREMENTS)]
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


def _tail(path: Path, lines: int = 30) -> str:
    """Last lines of a server log, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "<no log>"


class RealSwift:
    """A running Swift cluster in ``workdir``; use as a context manager or call start/stop."""

    def __init__(self, venv: Path, workdir: Path) -> None:
        self.venv = Path(venv).resolve()
        self.workdir = Path(workdir).resolve()
        self.etc = self.workdir / "etc"
        self.logs = self.workdir / "log"
        self.max_file_size = DEFAULT_MAX_FILE_SIZE
        self.ports: dict[str, int] = {}
        self.timings: dict[str, float] = {}
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def proxy_url(self) -> str:
        """Base URL of the proxy, e.g. http://127.0.0.1:PORT (no trailing slash)."""
        return f"http://127.0.0.1:{self.ports['proxy']}"

    def auth_v1(self, user: str, key: str) -> tuple[str, str]:
        """Return (storage_url, token) from tempauth's v1.0 endpoint; raise on failure."""
        headers = {"X-Auth-User": user, "X-Auth-Key": key}
        resp = httpx.get(f"{self.proxy_url}/auth/v1.0", headers=headers, timeout=10)
        resp.raise_for_status()
        return resp.headers["X-Storage-Url"], resp.headers["X-Auth-Token"]

    def start(self) -> RealSwift:
        """Write configs and rings, launch the four servers and wait for /healthcheck."""
        if self._procs:
            raise RuntimeError("RealSwift already started")
        try:
            t0 = time.monotonic()
            self._prepare_dirs()
            self.ports = dict(zip(SERVERS, free_ports(len(SERVERS)), strict=True))
            self._write_configs()
            self._build_rings()
            self.timings["rings"] = time.monotonic() - t0
            t1 = time.monotonic()
            for name in SERVERS:
                self._launch(name)
            atexit.register(self.stop)
            self._wait_ready(timeout=60.0)
            self.timings["servers"] = time.monotonic() - t1
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """SIGTERM every server, SIGKILL stragglers after a grace period, reap them all."""
        atexit.unregister(self.stop)
        for proc in self._procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 5.0
        for proc in self._procs.values():
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()

    def __enter__(self) -> RealSwift:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _prepare_dirs(self) -> None:
        """Start from an empty cluster: wipe only the subdirectories this class owns."""
        for sub in ("etc", "srv", "cache", "log"):
            shutil.rmtree(self.workdir / sub, ignore_errors=True)
        for path in (self.etc, self.workdir / "srv/node/d1", self.workdir / "cache", self.logs):
            path.mkdir(parents=True)

    def _default_section(self, name: str) -> str:
        """[DEFAULT] shared by all servers; user= is required (no 'swift' user exists here)."""
        return (
            "[DEFAULT]\n"
            f"swift_dir = {self.etc}\n"
            f"devices = {self.workdir / 'srv/node'}\n"
            "mount_check = false\n"
            "disable_fallocate = true\n"
            "bind_ip = 127.0.0.1\n"
            f"bind_port = {self.ports[name]}\n"
            "workers = 0\n"
            f"user = {getpass.getuser()}\n"
            f"recon_cache_path = {self.workdir / 'cache'}\n"
            f"log_name = {name}-server\n\n"
        )

    def _proxy_sections(self) -> str:
        """Proxy pipeline, app settings and tempauth with Fernet tokens (no memcached)."""
        fernet_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        users = "".join(
            f"user_{acct}_{user} = {key}{self._roles(acct)}\n"
            for (acct, user), key in ((k.split(":"), v) for k, v in USERS.items())
        )
        filters = "".join(
            f"[filter:{f}]\nuse = egg:swift#{f.replace('-', '_')}\n\n" for f in PROXY_FILTERS
        )
        return (
            f"[pipeline:main]\npipeline = {PROXY_PIPELINE}\n\n"
            "[app:proxy-server]\nuse = egg:swift#proxy\n"
            "account_autocreate = true\nallow_account_management = true\n\n"
            f"[filter:tempauth]\nuse = egg:swift#tempauth\n{users}"
            f"fernet_key_k1 = {fernet_key}\nactive_fernet_key_id = k1\n\n{filters}"
        )

    @staticmethod
    def _roles(account: str) -> str:
        """tempauth groups per account: admin is reseller admin, test3 is a plain user."""
        return {"admin": " .admin .reseller_admin", "test3": ""}.get(account, " .admin")

    def _write_configs(self) -> None:
        """swift.conf plus one conf per server, all under workdir/etc."""
        (self.etc / "swift.conf").write_text(
            "[swift-hash]\nswift_hash_path_prefix = cloudimages\n"
            "swift_hash_path_suffix = conformance\n\n"
            "[storage-policy:0]\nname = gold\ndefault = yes\n"
        )
        for name in SERVERS:
            if name == "proxy":
                body = self._proxy_sections()
            else:
                body = (
                    f"[pipeline:main]\npipeline = healthcheck {name}-server\n\n"
                    f"[app:{name}-server]\nuse = egg:swift#{name}\n\n"
                    "[filter:healthcheck]\nuse = egg:swift#healthcheck\n"
                )
            (self.etc / f"{name}-server.conf").write_text(self._default_section(name) + body)

    def _build_rings(self) -> None:
        """One python call with RingBuilder instead of nine swift-ring-builder CLI calls."""
        ports = {n: self.ports[n] for n in SERVERS if n != "proxy"}
        cmd = [str(self.venv / "bin/python"), "-c", _RING_SCRIPT, str(self.etc), json.dumps(ports)]
        subprocess.run(cmd, check=True, capture_output=True)

    def _launch(self, name: str) -> None:
        """Run swift-<name>-server in the foreground (-v logs to the console -> log file)."""
        exe = self.venv / "bin" / f"swift-{name}-server"
        with (self.logs / f"{name}.log").open("ab") as log:
            self._procs[name] = subprocess.Popen(
                [str(exe), str(self.etc / f"{name}-server.conf"), "-v"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - only calls prctl
            )

    def _wait_ready(self, timeout: float) -> None:
        """Poll /healthcheck on every server; fail fast with the log tail if one dies."""
        pending = set(SERVERS)
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while pending:
                for name in sorted(pending):
                    proc = self._procs[name]
                    if proc.poll() is not None:
                        log = self.logs / f"{name}.log"
                        raise RuntimeError(
                            f"swift {name} server exited with {proc.returncode}; "
                            f"log {log}:\n{_tail(log)}"
                        )
                    try:
                        url = f"http://127.0.0.1:{self.ports[name]}/healthcheck"
                        if client.get(url).status_code == 200:
                            pending.discard(name)
                    except httpx.TransportError:
                        pass
                if pending and time.monotonic() > deadline:
                    tails = "\n".join(f"--- {n}:\n{_tail(self.logs / f'{n}.log')}" for n in pending)
                    raise TimeoutError(f"swift servers not ready after {timeout}s:\n{tails}")
                if pending:
                    time.sleep(0.1)


def _expect(ok: bool, what: str, got: object) -> None:
    """Smoke-check assertion that also works under python -O."""
    if not ok:
        raise RuntimeError(f"smoke check failed: {what}: {got!r}")


def _smoke(swift: RealSwift) -> None:
    """Auth, container and object round trip, and /info advertising slo and tempurl."""
    storage_url, token = swift.auth_v1("test:tester", USERS["test:tester"])
    h = {"X-Auth-Token": token}
    with httpx.Client(timeout=10) as c:
        r = c.put(f"{storage_url}/smoke", headers=h)
        _expect(r.status_code in (201, 202), "PUT container", r)
        r = c.put(f"{storage_url}/smoke/hello.txt", headers=h, content=b"hi")
        _expect(r.status_code == 201, "PUT object", r)
        r = c.get(f"{storage_url}/smoke/hello.txt", headers=h)
        _expect(r.status_code == 200 and r.content == b"hi", "GET object", r)
        info = c.get(f"{swift.proxy_url}/info").json()
        _expect({"slo", "tempurl", "tempauth"} <= info.keys(), "/info keys", sorted(info))
        _expect(info["swift"]["version"] == SWIFT_VERSION, "version", info["swift"])
        _expect(info["swift"]["max_file_size"] == swift.max_file_size, "max size", info["swift"])
        wrong = {"X-Auth-User": "test:tester", "X-Auth-Key": "wrong"}
        r = c.get(f"{swift.proxy_url}/auth/v1.0", headers=wrong)
        _expect(r.status_code == 401, "wrong key", r)


def main() -> None:
    """Install (or reuse) Swift, start it, smoke-check it and stop it, printing timings."""
    t0 = time.monotonic()
    venv = ensure_swift_installed(default_cache_dir())
    print(f"install/reuse: {time.monotonic() - t0:.1f}s  venv={venv}")
    workdir = default_cache_dir() / "realswift-run"
    with RealSwift(venv, workdir) as swift:
        t = swift.timings
        print(f"rings+configs: {t['rings']:.2f}s  servers: {t['servers']:.2f}s")
        print(f"proxy: {swift.proxy_url}  ports: {swift.ports}")
        t1 = time.monotonic()
        _smoke(swift)
        print(f"smoke check: {time.monotonic() - t1:.2f}s")
        t2 = time.monotonic()
    print(f"stop: {time.monotonic() - t2:.2f}s  total: {time.monotonic() - t0:.1f}s  OK")


if __name__ == "__main__":
    main()
