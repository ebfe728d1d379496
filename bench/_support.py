"""What the local-cloud benchmarks share: the local cloud in its own process, CPU clocks,
logins and the environment block every report starts with."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024
TICKS = os.sysconf("SC_CLK_TCK")

# The local cloud in a process of its own, so its CPU time and memory are its own;
# it serves until the benchmark closes its stdin.
SERVER = """
import json, sys
from cloudimages.localcloud import LocalCloud, LocalCloudSettings
settings = LocalCloudSettings.model_validate_json(sys.argv[1])
with LocalCloud(settings) as cloud:
    print(json.dumps({"identity": cloud.identity_url, "keystone": cloud.keystone_url}), flush=True)
    sys.stdin.read()
"""


def with_source(source: Path | None) -> dict[str, str] | None:
    """The environment that makes a child import ``cloudimages`` from ``source`` (a ``src``
    directory, e.g. ``git archive <commit> src | tar -x -C /tmp/base``); None: this one."""
    if source is None:
        return None
    return {**os.environ, "PYTHONPATH": str(Path(source).resolve())}


@dataclass
class LocalCloudProcess:
    """``python -c SERVER`` with the given settings; ``identity``/``keystone`` once started.

    ``source``: run another version of the local cloud (see ``with_source``).
    """

    settings: dict[str, Any]
    source: Path | None = None
    proc: subprocess.Popen[str] | None = None
    identity: str = ""
    keystone: str = ""

    def __enter__(self) -> LocalCloudProcess:
        argv = [sys.executable, "-c", SERVER, json.dumps(self.settings)]
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=with_source(self.source),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the local cloud did not start; see its output above")
        urls = json.loads(line)
        self.identity, self.keystone = urls["identity"], urls["keystone"]
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid


def rackspace_login(identity: str, username: str, api_key: str) -> tuple[str, str, dict[str, str]]:
    """(token, tenant id, {service type: endpoint of the first region}) from Identity v2.0."""
    body = {"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": username, "apiKey": api_key}}}
    access = httpx.post(f"{identity}/tokens", json=body).raise_for_status().json()["access"]
    endpoints = {s["type"]: s["endpoints"][0]["publicURL"] for s in access["serviceCatalog"]}
    return access["token"]["id"], access["token"]["tenant"]["id"], endpoints


def keystone_login(keystone: str, user: str, password: str, project: str) -> tuple[str, str]:
    """(token, image endpoint of RegionOne) from Keystone v3 password auth."""
    domain = {"name": "Default"}
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": user, "password": password, "domain": domain}},
            },
            "scope": {"project": {"name": project, "domain": domain}},
        }
    }
    response = httpx.post(f"{keystone}/auth/tokens", json=body).raise_for_status()
    catalog = response.json()["token"]["catalog"]
    image = next(s for s in catalog if s["type"] == "image")
    url = next(e["url"] for e in image["endpoints"] if e["interface"] == "public")
    return response.headers["x-subject-token"], url


def cpu_seconds(root: int) -> float:
    """User + system CPU seconds of ``root`` and its live descendants, reaped children included."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # exited meanwhile
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        times[pid] = sum(int(x) for x in fields[11:15]) / TICKS  # utime stime cutime cstime
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        tree.update(children)
        frontier += children
    return sum(times.get(pid, 0.0) for pid in tree)


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set (VmHWM), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def version_of(argv: list[str]) -> str:
    result = subprocess.run(argv, check=False, capture_output=True, text=True)  # wrk -v exits 1
    return (result.stdout or result.stderr).splitlines()[0].strip()


def environment(parameters: str) -> dict[str, str]:
    """nproc, CPU, RAM, load, kernel, Python, SQLite and how the script was run."""
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return {
        "nproc": f"{os.cpu_count()} ({model}), {total:.0f} GiB RAM",
        "load average at start (1/5/15 min)": load(),
        "kernel": platform.release(),
        "Python (local cloud)": f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}",
        "parameters": parameters,
    }


def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())
