"""Install, start and stop a real OpenStack Glance 33.0.0 API on 127.0.0.1.

Glance runs from its own venv (pinned by ``requirements-glance.txt``) as one gunicorn master
plus one gthread worker, with sqlite, the file store and the header-trusting ``trusted`` paste
flavour (glance's ContextMiddleware without keystonemiddleware), so no Keystone is needed.
A stdlib HTTP file server on an allowed loopback port feeds legacy task / web-download imports.
This module itself only uses the stdlib and httpx: it runs in the project venv.

    python tests/conformance/realglance.py   # install into <repo>/.cache, start, smoke, stop

Surprises (measured here; see also /work/shared/reference/real-openstack.md section 3):
- Standalone ``glance-api`` is gone in 33: it must run under a WSGI server (gunicorn here).
  ``OS_GLANCE_CONFIG_DIR`` is how ``glance.wsgi.api`` finds ``glance-api.conf``.
- Keep one worker: import tasks run in a thread pool inside the worker process.
- ``enabled_import_methods`` without brackets -> 500 on every request that reads it;
  ``allowed_hosts``/``allowed_ports`` without brackets fail silently ("does not pass
  filtering", 400).  Loopback imports need 127.0.0.1 and the port listed explicitly.
- Requests without ``X-Identity-Status: Confirmed`` get 401.  ``POST /v2/tasks`` needs the
  admin role (403 otherwise).  An admin also lists and GETs (200) other projects' private
  images, so visibility/member tests should use ``roles="member,reader"`` (then 404).
- ``/versions`` lists v2.15 first; the stock paste file points the healthcheck disable file
  at /etc/glance, so this harness writes its own paste file with only ``trusted``.
- The format inspector rejects data that does not match ``disk_format`` (415, image stays
  ``queued``); random bytes pass as ``raw``.
- An image turns ``active`` before its import task records success; with sqlite a write in
  that window can hit ``database is locked`` (500).  Hence WAL + ``?timeout=30``, and tests
  should poll ``/v2/images/{id}/tasks`` (or the task) rather than only the image status.
- On SIGTERM the worker drains its task pool (atexit), so stop() escalates to SIGKILL on the
  process group after a grace period.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

if str(Path(__file__).resolve().parent) not in sys.path:  # importable as tests.conformance.*
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness
from _harness import Service, _expect, _tail, default_cache_dir, free_ports

GLANCE_VERSION = "33.0.0"
HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements-glance.txt"
RUN_SUBDIRS = ("etc", "images", "staging", "tasks", "work", "locks", "log")

_PASTE_INI = """\
[composite:glance-api-trusted]
paste.composite_factory = glance.api:root_app_factory
/: api
/healthcheck: healthcheck

[composite:api]
paste.composite_factory = glance.api:pipeline_factory
trusted = http_proxy_to_wsgi versionnegotiation context rootapp

[composite:rootapp]
paste.composite_factory = glance.api:root_app_factory
/: apiversions
/v2: apiv2app

[app:apiversions]
paste.app_factory = glance.api.versions:create_resource

[app:apiv2app]
paste.app_factory = glance.api.v2.router:API.factory

[app:healthcheck]
paste.app_factory = oslo_middleware:Healthcheck.app_factory
backends = disable_by_file
disable_by_file_path = {run}/healthcheck_disable

[filter:versionnegotiation]
paste.filter_factory = glance.api.middleware.version_negotiation:VersionNegotiationFilter.factory

[filter:context]
paste.filter_factory = glance.api.middleware.context:ContextMiddleware.factory

[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware:HTTPProxyToWSGI.factory
"""


def ensure_glance_installed(cache_dir: Path) -> Path:
    """Glance's pinned venv, ``cache_dir/glance-<ver>/venv``: made once, then reused."""
    root = Path(cache_dir).resolve() / f"glance-{GLANCE_VERSION}"
    return _harness.ensure_venv(root, REQUIREMENTS, probe="bin/gunicorn")


class _QuietHandler(SimpleHTTPRequestHandler):
    """Static file handler that does not spam stderr with one line per request."""

    def log_message(self, format: str, *args: object) -> None:
        pass


class RealGlance(Service):
    """A running Glance API in ``workdir``; use as a context manager or call start/stop.

    ``serve_dir`` (optional) is served over HTTP on the one extra port Glance's import
    filter allows, for ``import_from`` / web-download URIs built with :meth:`file_url`.
    """

    def __init__(
        self, venv: Path, workdir: Path, serve_dir: Path | None = None, *, workers: int = 1
    ) -> None:
        self.venv = Path(venv).resolve()
        self.workers = workers  # more than one only for benchmarks: tasks live in a worker
        self.workdir = Path(workdir).resolve()
        self.serve_dir = Path(serve_dir).resolve() if serve_dir is not None else None
        self.etc = self.workdir / "etc"
        self.logs = self.workdir / "log"
        self.port = 0
        self.file_port = 0
        self.timings: dict[str, float] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._file_server: ThreadingHTTPServer | None = None
        self._file_thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL of the API, e.g. http://127.0.0.1:PORT (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @staticmethod
    def headers(
        project_id: str, user_id: str | None = None, roles: str = "admin,member,reader"
    ) -> dict[str, str]:
        """Headers the ``trusted`` flavour turns into a request context (no token needed)."""
        return {
            "X-Identity-Status": "Confirmed",
            "X-Project-Id": project_id,
            "X-Tenant-Id": project_id,
            "X-User-Id": user_id or f"user-{project_id}",
            "X-Roles": roles,
        }

    def file_url(self, name: str) -> str:
        """URL of ``serve_dir/name`` on the file server Glance is allowed to import from."""
        if self._file_server is None:
            raise RuntimeError("file server not running (pass serve_dir and start())")
        return f"http://127.0.0.1:{self.file_port}/{name.lstrip('/')}"

    def _started(self) -> bool:
        return self._proc is not None

    def _start(self) -> None:
        """Write configs, migrate the db, launch gunicorn and wait for /healthcheck."""
        t0 = time.monotonic()
        self._prepare_dirs()
        self.port, self.file_port = free_ports(2)
        self._write_configs()
        self._db_sync()
        self.timings["db_sync"] = time.monotonic() - t0
        t1 = time.monotonic()
        self._start_file_server()
        self._launch()
        self._wait_ready(timeout=60.0)
        self.timings["api"] = time.monotonic() - t1

    def _stop(self) -> None:
        """SIGTERM the gunicorn master, SIGKILL its group after a grace period; stop files."""
        proc, self._proc = self._proc, None
        if proc is not None:
            _harness.terminate([proc], grace=10.0)
            # the worker is in the master's session; never leave it behind
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        if self._file_server is not None:
            self._file_server.shutdown()
            self._file_server.server_close()
            self._file_server = None
        if self._file_thread is not None:
            self._file_thread.join(timeout=5.0)
            self._file_thread = None

    def _prepare_dirs(self) -> None:
        """Start from an empty service: wipe only the paths this class owns."""
        for sub in RUN_SUBDIRS:
            shutil.rmtree(self.workdir / sub, ignore_errors=True)
            (self.workdir / sub).mkdir(parents=True)
        for name in ("glance.sqlite", "glance.sqlite-wal", "glance.sqlite-shm"):
            (self.workdir / name).unlink(missing_ok=True)

    def _api_conf(self) -> str:
        """glance-api.conf; the bracketed list values are required (see module docstring)."""
        run = self.workdir
        return (
            "[DEFAULT]\ndebug = false\n"
            f"log_file = {self.logs / 'glance-api.log'}\n"
            "enabled_backends = fs:file\n"
            "enabled_import_methods = [glance-direct,web-download,copy-image]\n"
            f"worker_self_reference_url = {self.url}\n\n"
            f"[database]\nconnection = sqlite:///{run / 'glance.sqlite'}?timeout=30\n\n"
            "[glance_store]\ndefault_backend = fs\n\n"
            f"[fs]\nfilesystem_store_datadir = {run / 'images'}\n\n"
            f"[os_glance_staging_store]\nfilesystem_store_datadir = {run / 'staging'}\n\n"
            f"[os_glance_tasks_store]\nfilesystem_store_datadir = {run / 'tasks'}\n\n"
            f"[paste_deploy]\nconfig_file = {self.etc / 'glance-api-paste.ini'}\n"
            "flavor = trusted\n\n"
            f"[task]\ntask_executor = taskflow\nwork_dir = {run / 'work'}\n\n"
            "[taskflow_executor]\nengine_mode = serial\n\n"
            "[import_filtering_opts]\nallowed_hosts = [127.0.0.1]\n"
            f"allowed_ports = [{self.file_port}]\n\n"
            "[oslo_policy]\nenforce_new_defaults = true\nenforce_scope = true\n\n"
            f"[oslo_concurrency]\nlock_path = {run / 'locks'}\n"
        )

    def _write_configs(self) -> None:
        """glance-api.conf and the paste file with only the ``trusted`` pipeline."""
        (self.etc / "glance-api.conf").write_text(self._api_conf())
        paste = _PASTE_INI.format(run=self.workdir)
        (self.etc / "glance-api-paste.ini").write_text(paste)

    def _db_sync(self) -> None:
        """Create the schema with glance-manage, then switch sqlite to WAL (fewer locks)."""
        cmd = [str(self.venv / "bin/glance-manage"), "--config-file"]
        cmd += [str(self.etc / "glance-api.conf"), "db_sync"]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"glance-manage db_sync failed:\n{done.stdout}{done.stderr}")
        with sqlite3.connect(self.workdir / "glance.sqlite") as db:
            db.execute("PRAGMA journal_mode=WAL")

    def _start_file_server(self) -> None:
        """Serve ``serve_dir`` on the allowed port from a daemon thread of this process."""
        if self.serve_dir is None:
            return
        self.serve_dir.mkdir(parents=True, exist_ok=True)
        handler = functools.partial(_QuietHandler, directory=str(self.serve_dir))
        self._file_server = ThreadingHTTPServer(("127.0.0.1", self.file_port), handler)
        self._file_server.daemon_threads = True
        self._file_thread = threading.Thread(
            target=self._file_server.serve_forever, name="glance-file-server", daemon=True
        )
        self._file_thread.start()

    def _launch(self) -> None:
        """gunicorn, one gthread worker (tasks live in the worker), no ~/.gunicorn socket."""
        cmd = [str(self.venv / "bin/gunicorn"), "--bind", f"127.0.0.1:{self.port}"]
        cmd += ["--workers", str(self.workers), "--worker-class", "gthread", "--threads", "8"]
        cmd += ["--timeout", "600", "--graceful-timeout", "5", "--no-control-socket"]
        cmd += ["--pid", str(self.workdir / "gunicorn.pid"), "glance.wsgi.api:application"]
        env = {**os.environ, "OS_GLANCE_CONFIG_DIR": str(self.etc)}
        env.pop("PYTHONPATH", None)  # the project's path must not leak into Glance's venv
        log = self.logs / "gunicorn.log"
        self._proc = _harness.spawn_server(cmd, log, cwd=self.workdir, env=env)

    def _log_tails(self) -> str:
        """Both logs: gunicorn's (boot errors) and glance's own (app errors)."""
        return "\n".join(
            f"--- {p}:\n{_tail(p)}"
            for p in (self.logs / "gunicorn.log", self.logs / "glance-api.log")
        )

    def _wait_ready(self, timeout: float) -> None:
        """Poll /healthcheck; fail fast with the log tails if gunicorn dies."""
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                if self._proc.poll() is not None:
                    code = self._proc.returncode
                    raise RuntimeError(f"gunicorn exited with {code}:\n{self._log_tails()}")
                try:
                    if client.get(f"{self.url}/healthcheck").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"glance not ready after {timeout}s:\n{self._log_tails()}")
                time.sleep(0.1)


def _wait_task(c: httpx.Client, url: str, h: dict[str, str], timeout: float = 60.0) -> dict:
    """Poll a task until it leaves pending/processing; return its final JSON."""
    deadline = time.monotonic() + timeout
    while True:
        task = c.get(url, headers=h).json()
        if task["status"] in ("success", "failure") or time.monotonic() > deadline:
            return task
        time.sleep(0.1)


def _smoke(glance: RealGlance, serve_dir: Path) -> None:
    """Upload/download, members, a legacy import task from the file server, delete."""
    p1, p2 = glance.headers("p1"), glance.headers("p2")
    payload = secrets.token_bytes(8192)
    (serve_dir / "src.raw").write_bytes(payload)
    with httpx.Client(base_url=glance.url, timeout=30) as c:
        body = {"name": "smoke", "disk_format": "raw", "container_format": "bare"}
        r = c.post("/v2/images", headers=p1, json=body)
        _expect(r.status_code == 201 and r.json()["owner"] == "p1", "POST image", r.text)
        iid = r.json()["id"]
        put = {**p1, "Content-Type": "application/octet-stream"}
        r = c.put(f"/v2/images/{iid}/file", headers=put, content=payload)
        _expect(r.status_code == 204, "PUT file", r.text)
        r = c.get(f"/v2/images/{iid}/file", headers=p1)
        _expect(r.status_code == 200 and r.content == payload, "GET file", r.status_code)
        r = c.post(f"/v2/images/{iid}/members", headers=p1, json={"member": "p2"})
        _expect(r.status_code == 200 and r.json()["status"] == "pending", "add member", r.text)
        r = c.put(f"/v2/images/{iid}/members/p2", headers=p2, json={"status": "accepted"})
        _expect(r.status_code == 200 and r.json()["status"] == "accepted", "accept", r.text)
        r = c.get("/v2/images", headers=p2, params={"visibility": "shared"})
        _expect([i["id"] for i in r.json()["images"]] == [iid], "shared list", r.text)
        task_in = {"import_from": glance.file_url("src.raw"), "import_from_format": "raw"}
        task_in["image_properties"] = {"name": "t", **body}
        r = c.post("/v2/tasks", headers=p1, json={"type": "import", "input": task_in})
        _expect(r.status_code == 201, "POST task", r.text)
        task = _wait_task(c, f"/v2/tasks/{r.json()['id']}", p1)
        _expect(task["status"] == "success", "task", task)
        tid = task["result"]["image_id"]
        r = c.get(f"/v2/images/{tid}/file", headers=p1)
        _expect(r.content == payload, "task image data", r.status_code)
        for image_id in (iid, tid):
            r = c.delete(f"/v2/images/{image_id}", headers=p1)
            _expect(r.status_code == 204, "DELETE", r.text)
        r = c.get(f"/v2/images/{iid}", headers=p1)
        _expect(r.status_code == 404, "GET deleted", r.status_code)


def main() -> None:
    """Install (or reuse) Glance, start it, smoke-check it and stop it, printing timings."""
    t0 = time.monotonic()
    venv = ensure_glance_installed(default_cache_dir())
    print(f"install/reuse: {time.monotonic() - t0:.1f}s  venv={venv}")
    workdir = default_cache_dir() / "realglance-run"
    serve_dir = workdir / "serve"
    with RealGlance(venv, workdir, serve_dir=serve_dir) as glance:
        t = glance.timings
        print(f"configs+db_sync: {t['db_sync']:.2f}s  api: {t['api']:.2f}s  url: {glance.url}")
        t1 = time.monotonic()
        _smoke(glance, serve_dir)
        print(f"smoke check: {time.monotonic() - t1:.2f}s")
        t2 = time.monotonic()
    print(f"stop: {time.monotonic() - t2:.2f}s  total: {time.monotonic() - t0:.1f}s  OK")


if __name__ == "__main__":
    main()
