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
from pathlib import Path

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
class FlowRun:
    """One flow in its own process: wall time (spawn to exit), GNU time's peak RSS, its report."""

    seconds: float
    peak_rss: int
    vmhwm: int  # the flow process's own high-water mark (no children)
    flow_seconds: float  # inside the process, from before the flow call to after it
    report: dict[str, object]


@dataclass(frozen=True)
class Stack:
    env: dict[str, str]  # the environment of every flow process
    identity_url: str
    work: Path

    def run_flow(self, *args: str) -> FlowRun:
        """Run the ``FLOW`` script with ``args`` under GNU time."""
        with tempfile.NamedTemporaryFile("r") as timing:
            argv = [TIME, "-q", "-f", "%M", "-o", timing.name, sys.executable, "-c", FLOW, *args]
            began = time.perf_counter()
            done = subprocess.run(argv, env=self.env, capture_output=True, text=True, check=False)
            seconds = time.perf_counter() - began
            if done.returncode != 0:
                raise RuntimeError(f"flow {args[0]} failed:\n{done.stderr[-4000:]}")
            peak = int(timing.read().split()[-1]) * 1024
        out = json.loads(done.stdout.strip().splitlines()[-1])
        return FlowRun(seconds, peak, out["vmhwm"], out["seconds"], out["report"])


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
        yield Stack(flow_env, identity, work)
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
