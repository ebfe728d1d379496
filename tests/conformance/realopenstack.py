"""A real mini OpenStack on 127.0.0.1: Keystone 30, two Glance 33 and Swift 2.38, real tokens.

Keystone (Fernet tokens, sqlite) runs under gunicorn; each Glance and the Swift proxy
validate user tokens with keystonemiddleware ``authtoken`` (Swift adds ``keystoneauth``).
Keystone and Swift share one cached venv (``requirements-keystone.txt``); Glance reuses the
venv of realglance.py.  Everything starts in parallel on free ports; the directory of
users and projects is realopenstack_setup.DIRECTORY, as the local cloud's Keystone v3 seeds.

    python tests/conformance/realopenstack.py   # install into the cache, start, smoke, stop

The two image regions differ on purpose: RegionOne is Glance's default configuration;
RegionTwo is strict (disk formats raw and qcow2 only, glance-direct only, a 4 MB storage
quota per project), so refusals can be provoked.  Both share the one Swift, as a Swift
"global cluster" would.  Surprises, measured (see /work/shared/reference/mini-openstack.md):
- keystone's WSGI app parses sys.argv: gunicorn must get no CLI options (a config file in
  its working directory instead), or every worker dies and is restarted forever.
- keystone-manage costs ~2 s per call in imports; one process imports once and forks.
- Creating projects/users/endpoints needs a system-scoped admin token.
- authtoken without memcached caches tokens in-process (``token_cache_time``); the default
  here is -1 (validate every request) so revoked tokens are refused at once.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import grp
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

if str(Path(__file__).resolve().parent) not in sys.path:  # importable as tests.conformance.*
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness
import realopenstack_conf as conf
from _harness import Service, _expect, _tail, default_cache_dir, free_ports
from realglance import ensure_glance_installed
from realopenstack_conf import GlanceRegion
from realopenstack_setup import ADMIN_PASSWORD, DIRECTORY, Directory, fill, password_auth

KEYSTONE_VERSION = "30.0.0"
HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements-keystone.txt"
REGIONS = (
    GlanceRegion("RegionOne"),
    GlanceRegion(
        "RegionTwo",
        disk_formats=("raw", "qcow2"),
        import_methods=("glance-direct",),
        user_storage_quota="4MB",
    ),
)
APP_CREDENTIAL_SECRET = "user1-appcred-secret"


def ensure_keystone_installed(cache_dir: Path) -> Path:
    """Keystone + Swift's pinned venv, ``cache_dir/keystone-<ver>/venv``: made once."""
    root = Path(cache_dir).resolve() / f"keystone-{KEYSTONE_VERSION}"
    return _harness.ensure_venv(root, REQUIREMENTS, probe="bin/keystone-manage")


def ensure_openstack_installed(cache_dir: Path) -> tuple[Path, Path]:
    """(keystone+swift venv, glance venv), installed side by side when missing."""
    with ThreadPoolExecutor(2) as pool:
        keystone = pool.submit(ensure_keystone_installed, cache_dir)
        glance = pool.submit(ensure_glance_installed, cache_dir)
        return keystone.result(), glance.result()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class RealOpenStack(Service):
    """Keystone + Glance per region + Swift in ``workdir``; a context manager."""

    def __init__(
        self,
        keystone_venv: Path,
        glance_venv: Path,
        workdir: Path,
        *,
        regions: tuple[GlanceRegion, ...] = REGIONS,
        token_cache_time: int = -1,
    ) -> None:
        self.keystone_venv = Path(keystone_venv).resolve()
        self.glance_venv = Path(glance_venv).resolve()
        self.workdir = Path(workdir).resolve()
        self.regions = regions
        self.token_cache_time = token_cache_time
        self.logs = self.workdir / "log"
        self.serve_dir = self.workdir / "serve"
        self.ports: dict[str, int] = {}
        self.timings: dict[str, float] = {}
        self.directory = Directory()
        self.app_credential: dict[str, str] = {}
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._file_server: ThreadingHTTPServer | None = None

    # --- what tests use -------------------------------------------------------------------
    @property
    def keystone_url(self) -> str:
        """Keystone's root, e.g. http://127.0.0.1:PORT (``/v3`` is the auth URL)."""
        return f"http://127.0.0.1:{self.ports['keystone']}"

    @property
    def auth_url(self) -> str:
        return f"{self.keystone_url}/v3"

    def glance_url(self, region: str = "RegionOne") -> str:
        return f"http://127.0.0.1:{self.ports[f'glance-{region}']}"

    @property
    def swift_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['proxy']}"

    def storage_url(self, project: str) -> str:
        return f"{self.swift_url}/v1/AUTH_{self.directory.projects[project]}"

    def file_url(self, name: str) -> str:
        """URL of ``serve_dir/name`` on the one port the Glances may web-download from."""
        return f"http://127.0.0.1:{self.ports['files']}/{name.lstrip('/')}"

    @property
    def clouds_yaml(self) -> Path:
        """A clouds.yaml with one cloud per user (see write_clouds_yaml)."""
        return self.workdir / "clouds.yaml"

    def token(self, user: str, project: str | None = None, *, domain: str = "Default") -> str:
        """A token for ``user`` of ``domain`` (name), scoped to its ``project`` if given."""
        password = ADMIN_PASSWORD if user == "admin" else f"{user}-password"
        domain_id = self.directory.domains[domain]
        scope = None
        if project is not None:
            scope = {"project": {"name": project, "domain": {"id": domain_id}}}
        body = password_auth(user, password, scope, domain=domain_id)
        resp = httpx.post(f"{self.auth_url}/auth/tokens", json=body, timeout=30)
        resp.raise_for_status()
        return resp.headers["X-Subject-Token"]

    # --- lifecycle --------------------------------------------------------------------------
    def _started(self) -> bool:
        return bool(self._procs)

    def _start(self) -> None:
        t0 = time.monotonic()
        self._prepare_dirs()
        names = ["keystone", "files", *(f"glance-{r.region}" for r in self.regions)]
        names += list(conf.SWIFT_SERVERS)
        self.ports = dict(zip(names, free_ports(len(names)), strict=True))
        self._write_configs()
        self._start_file_server()
        # the slow preparations run side by side; the servers start from this thread, since
        # PR_SET_PDEATHSIG fires when the *thread* that spawned a child ends
        with ThreadPoolExecutor(3) as pool:
            jobs = [pool.submit(self._prepare_keystone), pool.submit(self._prepare_glances)]
            jobs.append(pool.submit(self._prepare_swift))
            for job in jobs:
                job.result()
        self._launch_all()
        self.timings["processes"] = time.monotonic() - t0
        t1 = time.monotonic()
        self._wait_http("keystone", f"{self.auth_url}", 60.0)
        self.timings["keystone ready"] = time.monotonic() - t0
        self.directory = fill(self.keystone_url, self._catalog_urls())
        self.app_credential = self._make_app_credential()
        self.timings["keystone setup"] = time.monotonic() - t1
        for region in self.regions:
            self._wait_http(
                f"glance-{region.region}", f"{self.glance_url(region.region)}/healthcheck", 60.0
            )
        for name in conf.SWIFT_SERVERS:
            self._wait_http(name, f"http://127.0.0.1:{self.ports[name]}/healthcheck", 60.0)
        self.write_clouds_yaml()
        self.timings["total"] = time.monotonic() - t0

    def _stop(self) -> None:
        procs, self._procs = dict(self._procs), {}
        _harness.terminate(procs.values(), grace=10.0)
        for name, proc in procs.items():
            if name == "keystone" or name.startswith("glance-"):  # gunicorn workers: same group
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
        if self._file_server is not None:
            self._file_server.shutdown()
            self._file_server.server_close()
            self._file_server = None

    # --- setup steps ------------------------------------------------------------------------
    def _prepare_dirs(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
        for sub in (
            "log",
            "serve",
            "keystone/etc",
            "swift/etc",
            "swift/srv/node/d1",
            "swift/cache",
        ):
            (self.workdir / sub).mkdir(parents=True)
        for sub in ("fernet-keys", "credential-keys"):  # else "world readable" on every token
            (self.workdir / "keystone" / sub).mkdir(mode=0o700)
        for region in self.regions:
            for sub in ("etc", "images", "staging", "tasks", "work", "locks"):
                (self._glance_dir(region) / sub).mkdir(parents=True)

    def _glance_dir(self, region: GlanceRegion) -> Path:
        return self.workdir / f"glance-{region.region}"

    def _write_configs(self) -> None:
        k = self.workdir / "keystone"
        (k / "etc" / "keystone.conf").write_text(conf.keystone_conf(self.workdir))
        (k / "gunicorn.conf.py").write_text(
            conf.keystone_gunicorn_conf(self.workdir, self.ports["keystone"])
        )
        shipped = (self.glance_venv / "etc/glance/glance-api-paste.ini").read_text()
        for region in self.regions:
            gdir = self._glance_dir(region)
            text = conf.glance_conf(
                gdir,
                spec=region,
                port=self.ports[f"glance-{region.region}"],
                keystone_url=self.keystone_url,
                file_port=self.ports["files"],
                cache_time=self.token_cache_time,
            )
            (gdir / "etc" / "glance-api.conf").write_text(text)
            (gdir / "etc" / "glance-api-paste.ini").write_text(conf.glance_paste(shipped, gdir))
        sdir = self.workdir / "swift"
        (sdir / "etc" / "swift.conf").write_text(conf.swift_conf())
        for name in conf.SWIFT_SERVERS:
            text = conf.swift_server_conf(
                sdir, name, self.ports, self.keystone_url, self.token_cache_time
            )
            (sdir / "etc" / f"{name}-server.conf").write_text(text)

    def _catalog_urls(self) -> dict[str, dict[str, str]]:
        swift = f"{self.swift_url}/v1/AUTH_$(project_id)s"  # keystone fills in the project
        return {
            r.region: {"image": self.glance_url(r.region), "object-store": swift}
            for r in self.regions
        }

    def _run(self, cmd: list[str], what: str) -> None:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"{what} failed:\n{done.stdout[-2000:]}{done.stderr[-4000:]}")

    def _prepare_keystone(self) -> None:
        """keystone-manage db_sync, fernet/credential keys and bootstrap."""
        t0 = time.monotonic()
        k = self.workdir / "keystone"
        base = ["--config-file", str(k / "etc" / "keystone.conf")]
        owner = [
            "--keystone-user",
            getpass.getuser(),
            "--keystone-group",
            grp.getgrgid(os.getgid()).gr_name,
        ]
        url = f"{self.keystone_url}/v3"
        bootstrap = ["bootstrap", "--bootstrap-password", ADMIN_PASSWORD]
        bootstrap += ["--bootstrap-username", "admin", "--bootstrap-project-name", "admin"]
        bootstrap += ["--bootstrap-role-name", "admin", "--bootstrap-service-name", "keystone"]
        bootstrap += ["--bootstrap-region-id", "RegionOne"]
        for interface in ("admin", "internal", "public"):
            bootstrap += [f"--bootstrap-{interface}-url", url]
        commands = [["db_sync"], ["fernet_setup", *owner], ["credential_setup", *owner], bootstrap]
        argv = ["\x1f".join([*base, *command]) for command in commands]
        python = str(self.keystone_venv / "bin/python")
        self._run([python, "-c", conf.KEYSTONE_MANAGE_SCRIPT, *argv], "keystone-manage")
        self.timings["keystone-manage"] = time.monotonic() - t0

    def _launch_all(self) -> None:
        k = self.workdir / "keystone"
        gunicorn = [
            str(self.keystone_venv / "bin/gunicorn")
        ]  # options come from k/gunicorn.conf.py
        self._procs["keystone"] = _harness.spawn_server(
            gunicorn, self.logs / "keystone-stdout.log", cwd=k, env=_clean_env()
        )
        for region in self.regions:
            self._launch_glance(region)
        sdir = self.workdir / "swift"
        for name in conf.SWIFT_SERVERS:
            exe = self.keystone_venv / "bin" / f"swift-{name}-server"
            cmd = [str(exe), str(sdir / "etc" / f"{name}-server.conf"), "-v"]
            log = self.logs / f"swift-{name}.log"
            self._procs[name] = _harness.spawn_server(cmd, log, env=_clean_env())

    def _prepare_glances(self) -> None:
        """glance-manage db_sync per region (both in one thread: they are CPU-bound)."""
        for region in self.regions:
            cfg = str(self._glance_dir(region) / "etc" / "glance-api.conf")
            manage = [str(self.glance_venv / "bin/glance-manage"), "--config-file", cfg, "db_sync"]
            self._run(manage, "glance db_sync")

    def _launch_glance(self, region: GlanceRegion) -> None:
        """gunicorn, one gthread worker (import tasks live in the worker)."""
        gdir = self._glance_dir(region)
        port = self.ports[f"glance-{region.region}"]
        cmd = [str(self.glance_venv / "bin/gunicorn"), "--bind", f"127.0.0.1:{port}"]
        cmd += ["--workers", "1", "--worker-class", "gthread", "--threads", "8"]
        cmd += ["--timeout", "600", "--graceful-timeout", "5", "--no-control-socket"]
        cmd += ["glance.wsgi.api:application"]
        env = {**_clean_env(), "OS_GLANCE_CONFIG_DIR": str(gdir / "etc")}
        log = gdir / "gunicorn.log"
        self._procs[f"glance-{region.region}"] = _harness.spawn_server(cmd, log, cwd=gdir, env=env)

    def _prepare_swift(self) -> None:
        """Rings in one python call (RingBuilder) instead of nine CLI runs."""
        sdir = self.workdir / "swift"
        ports = {n: self.ports[n] for n in conf.SWIFT_SERVERS if n != "proxy"}
        python = str(self.keystone_venv / "bin/python")
        rings = [python, "-c", conf.RING_SCRIPT, str(sdir / "etc"), json.dumps(ports)]
        self._run(rings, "swift rings")

    def _start_file_server(self) -> None:
        handler = functools.partial(_QuietHandler, directory=str(self.serve_dir))
        self._file_server = ThreadingHTTPServer(("127.0.0.1", self.ports["files"]), handler)
        self._file_server.daemon_threads = True
        threading.Thread(
            target=self._file_server.serve_forever, name="openstack-files", daemon=True
        ).start()

    def _wait_http(self, name: str, url: str, timeout: float) -> None:
        """Poll ``url`` until it answers below 500; fail fast with the logs if the process died."""
        proc = self._procs[name]
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self._log_tails()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url, timeout=2.0).status_code < 500:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} not ready after {timeout}s:\n{self._log_tails()}")
            time.sleep(0.1)

    def _log_tails(self) -> str:
        paths = sorted(self.logs.glob("*.log")) + sorted(self.workdir.glob("glance-*/*.log"))
        return "\n".join(f"--- {p}:\n{_tail(p, 15)}" for p in paths)

    def _make_app_credential(self) -> dict[str, str]:
        """An application credential of user1 on demo1 (role member), with a known secret."""
        token = self.token("user1", "demo1")
        user = self.directory.users["user1"]
        body = {
            "application_credential": {"name": "cloudimages-tests", "secret": APP_CREDENTIAL_SECRET}
        }
        resp = httpx.post(
            f"{self.auth_url}/users/{user}/application_credentials",
            headers={"X-Auth-Token": token},
            json=body,
            timeout=30,
        )
        resp.raise_for_status()
        made = resp.json()["application_credential"]
        return {
            "id": made["id"],
            "name": made["name"],
            "secret": APP_CREDENTIAL_SECRET,
            "user": "user1",
        }

    def write_clouds_yaml(self) -> Path:
        """One password cloud per user (named after it) plus ``user1-appcred``; JSON is YAML."""
        clouds: dict[str, Any] = {}
        for spec in DIRECTORY:
            clouds[spec.name] = _password_cloud(
                self.auth_url, spec.name, spec.password, spec.project, spec.domain
            )
        clouds["admin"] = _password_cloud(
            self.auth_url, "admin", ADMIN_PASSWORD, "admin", "Default"
        )
        clouds["user1-appcred"] = {
            "auth_type": "v3applicationcredential",
            "auth": {
                "auth_url": self.auth_url,
                "application_credential_id": self.app_credential["id"],
                "application_credential_secret": self.app_credential["secret"],
            },
            "region_name": "RegionOne",
            "interface": "public",
            "identity_api_version": 3,
        }
        self.clouds_yaml.write_text(json.dumps({"clouds": clouds}, indent=2))
        return self.clouds_yaml


def _password_cloud(
    auth_url: str, user: str, password: str, project: str, domain: str
) -> dict[str, Any]:
    return {
        "auth": {
            "auth_url": auth_url,
            "username": user,
            "password": password,
            "project_name": project,
            "user_domain_name": domain,
            "project_domain_name": domain,
        },
        "region_name": "RegionOne",
        "interface": "public",
        "identity_api_version": 3,
    }


def _clean_env() -> dict[str, str]:
    """The project's PYTHONPATH must not leak into the OpenStack venvs."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


def _smoke(cloud: RealOpenStack) -> None:
    """A token per user, an image uploaded in RegionOne, an object in Swift, two refusals."""
    token = cloud.token("user1", "demo1")
    h = {"X-Auth-Token": token}
    with httpx.Client(timeout=30) as c:
        body = {"name": "smoke", "disk_format": "raw", "container_format": "bare"}
        r = c.post(f"{cloud.glance_url()}/v2/images", headers=h, json=body)
        _expect(r.status_code == 201, "POST image", r.text)
        image = r.json()["id"]
        put = {**h, "Content-Type": "application/octet-stream"}
        r = c.put(
            f"{cloud.glance_url()}/v2/images/{image}/file", headers=put, content=os.urandom(4096)
        )
        _expect(r.status_code == 204, "PUT file", r.text)
        r = c.put(f"{cloud.storage_url('demo1')}/smoke", headers=h)
        _expect(r.status_code in (201, 202), "PUT container", r.text)
        reader = {"X-Auth-Token": cloud.token("reader1", "demo1")}
        r = c.post(f"{cloud.glance_url()}/v2/images", headers=reader, json=body)
        _expect(r.status_code == 403, "reader creates an image", r.text)
        r = c.post(f"{cloud.glance_url()}/v2/images", headers={"X-Auth-Token": "bogus"}, json=body)
        _expect(r.status_code == 401, "bogus token", r.text)
        r = c.delete(f"{cloud.glance_url()}/v2/images/{image}", headers=h)
        _expect(r.status_code == 204, "DELETE image", r.text)


def main() -> None:
    """Install (or reuse) the venvs, start everything, smoke-check it and stop, with timings."""
    t0 = time.monotonic()
    keystone_venv, glance_venv = ensure_openstack_installed(default_cache_dir())
    print(f"install/reuse: {time.monotonic() - t0:.1f}s")
    with RealOpenStack(
        keystone_venv, glance_venv, default_cache_dir() / "realopenstack-run"
    ) as cloud:
        print("start:", {k: round(v, 1) for k, v in cloud.timings.items()})
        print(f"keystone {cloud.keystone_url}  swift {cloud.swift_url}")
        print(f"clouds.yaml {cloud.clouds_yaml}")
        t1 = time.monotonic()
        _smoke(cloud)
        print(f"smoke check: {time.monotonic() - t1:.2f}s")
        t2 = time.monotonic()
    print(f"stop: {time.monotonic() - t2:.2f}s  total: {time.monotonic() - t0:.1f}s  OK")


if __name__ == "__main__":
    main()
