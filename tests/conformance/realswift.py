"""Install, start and stop a real one-replica OpenStack Swift 2.38.3 cluster on 127.0.0.1.

Swift runs from its own venv (pinned by ``requirements-swift.txt``) as four real servers
(proxy, account, container, object) with tempauth and Fernet tokens, so no memcached is
needed.  This module itself only uses the stdlib and httpx: it runs in the project venv.

    python tests/conformance/realswift.py   # install into <repo>/.cache, start, smoke-check, stop
"""

from __future__ import annotations

import base64
import getpass
import json
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

if str(Path(__file__).resolve().parent) not in sys.path:  # importable as tests.conformance.*
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness
from _harness import Service, _expect, _tail, default_cache_dir, free_ports

SWIFT_VERSION = "2.38.3"
HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements-swift.txt"
SERVERS = ("account", "container", "object", "proxy")
DEFAULT_MAX_FILE_SIZE = 5368709122  # Swift's own default constraint, left unchanged
# tempauth users: "account:user" -> key.  test3:tester3 is deliberately not an admin (ACL tests);
# test:tester3 is the unprivileged user of the first account that Swift's own suite needs.
USERS = {
    "admin:admin": "admin",
    "test:tester": "testing",
    "test2:tester2": "testing2",
    "test3:tester3": "testing3",
    "test:tester3": "testing3",
}
UNPRIVILEGED = ("test3:tester3", "test:tester3")
PROXY_PIPELINE = (
    "catch_errors gatekeeper healthcheck proxy-logging listing_formats bulk tempurl "
    "tempauth copy slo dlo proxy-logging proxy-server"
)
PROXY_FILTERS = ("catch_errors", "gatekeeper", "healthcheck", "proxy-logging")
PROXY_FILTERS += ("listing_formats", "bulk", "tempurl", "copy", "slo", "dlo")
# Optional middleware, each with the filter it follows in the pipeline and its settings.
OPTIONAL_FILTERS = {
    "container_quotas": ("copy", ""),
    "versioned_writes": ("dlo", "allow_versioned_writes = true\n"),
}

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


def ensure_swift_installed(cache_dir: Path) -> Path:
    """Swift's pinned venv, ``cache_dir/swift-<ver>/venv``: made once, then reused."""
    root = Path(cache_dir).resolve() / f"swift-{SWIFT_VERSION}"
    return _harness.ensure_venv(root, REQUIREMENTS, probe="bin/python")


class RealSwift(Service):
    """A running Swift cluster in ``workdir``; use as a context manager or call start/stop."""

    def __init__(self, venv: Path, workdir: Path, *, features: tuple[str, ...] = ()) -> None:
        """``features`` names optional middleware (``OPTIONAL_FILTERS``) to add to the proxy."""
        unknown = set(features) - OPTIONAL_FILTERS.keys()
        if unknown:
            raise ValueError(f"unknown Swift features {sorted(unknown)}")
        self.features = features
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

    def _started(self) -> bool:
        return bool(self._procs)

    def _start(self) -> None:
        """Write configs and rings, launch the four servers and wait for /healthcheck."""
        t0 = time.monotonic()
        self._prepare_dirs()
        self.ports = dict(zip(SERVERS, free_ports(len(SERVERS)), strict=True))
        self._write_configs()
        self._build_rings()
        self.timings["rings"] = time.monotonic() - t0
        t1 = time.monotonic()
        for name in SERVERS:
            self._launch(name)
        self._wait_ready(timeout=60.0)
        self.timings["servers"] = time.monotonic() - t1

    def _stop(self) -> None:
        """SIGTERM every server, SIGKILL stragglers after a grace period, reap them all."""
        _harness.terminate(self._procs.values(), grace=5.0)
        self._procs.clear()

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
            f"user_{name.replace(':', '_')} = {key}{self._roles(name)}\n"
            for name, key in USERS.items()
        )
        filters = "".join(
            f"[filter:{f}]\nuse = egg:swift#{f.replace('-', '_')}\n\n" for f in PROXY_FILTERS
        )
        pipeline = PROXY_PIPELINE.split()
        for feature in self.features:
            after, settings = OPTIONAL_FILTERS[feature]
            pipeline.insert(pipeline.index(after) + 1, feature)
            filters += f"[filter:{feature}]\nuse = egg:swift#{feature}\n{settings}\n"
        return (
            f"[pipeline:main]\npipeline = {' '.join(pipeline)}\n\n"
            "[app:proxy-server]\nuse = egg:swift#proxy\n"
            "account_autocreate = true\nallow_account_management = true\n\n"
            f"[filter:tempauth]\nuse = egg:swift#tempauth\n{users}"
            f"fernet_key_k1 = {fernet_key}\nactive_fernet_key_id = k1\n\n{filters}"
        )

    @staticmethod
    def _roles(user: str) -> str:
        """tempauth groups per user: admin is reseller admin, the unprivileged ones are plain."""
        if user in UNPRIVILEGED:
            return ""
        return " .admin .reseller_admin" if user == "admin:admin" else " .admin"

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
        cmd = [str(exe), str(self.etc / f"{name}-server.conf"), "-v"]
        self._procs[name] = _harness.spawn_server(cmd, self.logs / f"{name}.log")

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
