"""What the pipeline benchmarks share: a Prefect server, a local cloud, flows timed on their own.

The Prefect server (``prefect server start``, its own PREFECT_HOME) and the local
cloud (``cloudimages localcloud serve``) run as separate processes, so neither
counts in what is measured. Each flow runs in a fresh interpreter under GNU
``time``: its wall time and peak RSS (``%M``: the largest of the process and the
children it waited for, such as qemu-img) are the flow's alone. ``--src DIR`` runs
the flows with another checkout's ``src`` (for before/after figures in one setup).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from harness import PREFECT, Proc, clean_environ, free_port, http_ok, wait_for  # noqa: E402

MiB = 1024 * 1024
TIME = "/usr/bin/time"

FLOW = """
import json, sys, time
from cloudimages import flows
from cloudimages.params import ImportRequest, ReplicateRequest, build

kind, *args = sys.argv[1:]
began = time.perf_counter()
if kind == "import":
    source, account, name = args
    report = flows.import_image(build(ImportRequest, source=source, account=account, name=name))
else:
    image, source, *targets = args
    request = build(ReplicateRequest, image_id=image, source=source, targets=targets, mode="copy")
    report = flows.replicate_image(request)
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({
    "report": report.model_dump(mode="json"),
    "vmhwm": int(hwm.split()[1]) * 1024,
    "seconds": time.perf_counter() - began,
}))
"""

SAVE_BLOCKS = """
import json, sys
from pydantic import SecretStr
from cloudimages.blocks import CloudImagesAccount

identity_url, accounts = sys.argv[1], json.loads(sys.argv[2])
for name, region in accounts:
    CloudImagesAccount(
        username=name, api_key=SecretStr(name + "-api-key"), region=region,
        identity_url=identity_url,
    ).save(name, overwrite=True)
"""


@dataclass(frozen=True)
class StepTimes:
    """The task runs of one kind (``copy-to-staging``…) in a flow run."""

    count: int
    total: float  # their run times added up, s
    span: float  # from the first start to the last end, s


@dataclass(frozen=True)
class FlowRun:
    """One flow in its own process: wall time (spawn to exit), GNU time's peak RSS, its report."""

    seconds: float
    peak_rss: int
    vmhwm: int  # the flow process's own high-water mark (no children)
    flow_seconds: float  # inside the process, from before the flow call to after it
    report: dict[str, object]
    steps: dict[str, StepTimes]  # its task runs by name, read from the Prefect API
    cpu: dict[str, float]  # CPU seconds of the flow, the local cloud and the Prefect server


@dataclass(frozen=True)
class Stack:
    env: dict[str, str]  # the environment of every flow process
    identity_url: str
    work: Path
    services: dict[str, int]  # name → pid of the local cloud and the Prefect server

    def run_flow(self, *args: str) -> FlowRun:
        """Run the ``FLOW`` script with ``args`` under GNU time."""
        with tempfile.NamedTemporaryFile("r") as timing:
            argv = [TIME, "-q", "-f", "%M %U %S", "-o", timing.name]
            argv += [sys.executable, "-c", FLOW, *args]
            services = {name: cpu_seconds(pid) for name, pid in self.services.items()}
            began = time.perf_counter()
            done = subprocess.run(argv, env=self.env, capture_output=True, text=True, check=False)
            seconds = time.perf_counter() - began
            if done.returncode != 0:
                raise RuntimeError(f"flow {args[0]} failed:\n{done.stderr[-4000:]}")
            rss, user, system = timing.read().split()[-3:]
        cpu = {name: cpu_seconds(pid) - services[name] for name, pid in self.services.items()}
        cpu["flow"] = float(user) + float(system)
        out = json.loads(done.stdout.strip().splitlines()[-1])
        steps = task_times(self.env["PREFECT_API_URL"])
        return FlowRun(
            seconds, int(rss) * 1024, out["vmhwm"], out["seconds"], out["report"], steps, cpu
        )


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its reaped children (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def task_times(api: str) -> dict[str, StepTimes]:
    """The task runs of the latest flow run, by task name (from the Prefect REST API).

    The server records task runs in batches, so it is read until two reads agree.
    """
    flow_runs = httpx.post(
        f"{api}/flow_runs/filter", json={"sort": "START_TIME_DESC", "limit": 1}, timeout=30
    ).json()
    body = {"flow_runs": {"id": {"any_": [flow_runs[0]["id"]]}}, "limit": 200}
    runs, previous = [], None
    for _ in range(20):
        time.sleep(1.0)
        runs = httpx.post(f"{api}/task_runs/filter", json=body, timeout=30).json()
        finished = sorted((r["id"], r.get("end_time")) for r in runs)
        if finished == previous:
            break
        previous = finished
    by_name: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        if run.get("start_time") and run.get("end_time"):
            by_name.setdefault(run["name"].rsplit("-", 1)[0], []).append(run)
    return {
        name: StepTimes(
            count=len(group),
            total=sum(float(r["total_run_time"]) for r in group),
            span=(
                max(datetime.fromisoformat(r["end_time"]) for r in group)
                - min(datetime.fromisoformat(r["start_time"]) for r in group)
            ).total_seconds(),
        )
        for name, group in by_name.items()
    }


@contextmanager
def stack(work: Path, accounts: Sequence[tuple[str, str]], *, src: Path | None) -> Iterator[Stack]:
    """A Prefect server and a local cloud with ``accounts`` (name, region) saved as blocks."""
    api = f"http://127.0.0.1:{free_port()}/api"
    env = clean_environ() | {
        "PREFECT_HOME": str(work / "prefect-home"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "CLOUDIMAGES_WORK_DIR": str(work / "flow-work"),
    }
    flow_env = env | ({"PYTHONPATH": str(src)} if src else {})
    port = api.rsplit(":", 1)[1].split("/", maxsplit=1)[0]
    server = Proc(
        "prefect-server",
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", port, "--analytics-off"],
        env=env,
        log_dir=work,
    )
    specs = [
        arg for name, region in accounts for arg in ("--account", f"{name}:{name}-api-key:{region}")
    ]
    cloud = Proc(
        "localcloud",
        [sys.executable, "-m", "cloudimages.cli", "localcloud", "serve", "--port", "0",
         "--data-dir", str(work / "localcloud"), *specs],
        env=clean_environ(),
        log_dir=work,
    )  # fmt: skip
    try:
        identity = cloud.wait_for_output(r"Identity\s+(http://\S+/v2\.0)", timeout=120).group(1)

        def healthy() -> bool | None:
            server.expect_alive()
            return http_ok(f"{api}/health")

        wait_for("the Prefect server", healthy, timeout=180)
        subprocess.run(
            [sys.executable, "-c", SAVE_BLOCKS, identity, json.dumps(list(accounts))],
            env=env,
            check=True,
        )
        yield Stack(
            flow_env, identity, work, {"local cloud": cloud.pid, "Prefect server": server.pid}
        )
    finally:
        cloud.stop()
        server.stop()


def make_dense_raw(path: Path, size: int) -> Path:
    """A raw disk image of ``size`` random bytes (no zero block for qemu-img to skip)."""
    with path.open("wb") as out:
        for _ in range(size // (4 * MiB)):
            out.write(os.urandom(4 * MiB))
    return path


def environment(parameters: str) -> dict[str, str]:
    """What the numbers depend on, printed with them."""
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return {
        "nproc": f"{os.cpu_count()} ({model}), {total:.0f} GiB RAM",
        "load average at start (1/5/15 min)": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
        "Python": f"{platform.python_version()} ({sys.executable})",
        "kernel": platform.release(),
        "parameters": parameters,
    }
