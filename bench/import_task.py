"""The local cloud's import (and export) task on dense data vs the work it imitates.

One random (incompressible) raw disk is made into a dynamic VHD and uploaded to the local
cloud (in its own process) twice: as an SLO of 64 MiB segments, as the pipelines upload
it, and as one plain object. Then, in rounds whose order rotates, on the same machine:

* ``lower bound``: issue 13's "convert + one sha256 pass": ``qemu-img convert`` of the raw
  disk to a dynamic VHD, then ``openssl dgst -sha256`` of the raw disk (as fast as the
  pipeline's hashlib; ``--sha256 sha256sum`` takes coreutils', ~3× slower without SHA-NI).
* ``imitated work``: what the task stands for, done by hand on the uploaded VHD:
  ``qemu-img convert -f vpc -O vpc`` (a new dynamic VHD), then ``md5sum`` of the result.
* ``import task (SLO)`` and ``import task (plain object)``: ``POST /v2/tasks`` until the
  task reads ``success`` (polled every 50 ms); the server's CPU time, qemu-img included.
* ``export task``: the imported image exported to a container (a DLO), likewise.

Every external tool runs on its own (wall and CPU time from ``os.wait4``); the output
files go to the same disk as the local cloud's data. Ratios are medians over the rounds.
The bytes each task moved through read/write/copy_file_range calls (``/proc/<pid>/io`` of
the server, qemu-img included), divided by the image size, count its passes over the data:
the reference tools make two reads and one write.
``--baseline-src DIR`` runs a second local cloud from another version's ``src`` directory
beside the first, its tasks in the same rounds: before and after in one run.

    git archive <commit> src | tar -x -C /tmp/baseline
    .venv/bin/python bench/import_task.py --rounds 5 --baseline-src /tmp/baseline/src
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import (
    LocalCloudProcess,
    MiB,
    cpu_seconds,
    environment,
    load,
    peak_rss_mib,
    rackspace_login,
    version_of,
)

from cloudimages.client.objects import ObjectsClient

SHA256 = {"sha256sum": ["sha256sum"], "openssl": ["openssl", "dgst", "-sha256"]}
VHD = ["-O", "vpc", "-o", "subformat=dynamic,force_size=on"]
LOWER, IMITATED = "lower bound", "imitated work"
IMPORT_SLO, IMPORT_PLAIN, EXPORT = "import task (SLO)", "import task (plain object)", "export task"
CONTAINER = "bench"
BASELINE = ", baseline"


@dataclass(frozen=True)
class Run:
    contender: str
    seconds: float
    cpu: float
    steps: str  # what took the time, for the report
    read: int = 0  # bytes the server and its qemu-img read (read/pread/copy_file_range)
    written: int = 0  # and wrote


def timed(argv: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode:
        raise RuntimeError(f"{argv[0]} failed: {stderr}")
    return seconds, usage.ru_utime + usage.ru_stime


def pair(contender: str, first: list[str], second: list[str]) -> Run:
    """Two processes one after the other, timed as one."""
    a, b = timed(first), timed(second)
    steps = f"{Path(first[0]).name} {a[0]:.2f} s, {Path(second[0]).name} {b[0]:.2f} s"
    return Run(contender, a[0] + b[0], a[1] + b[1], steps)


class Tasks:
    """Import and export tasks of alice in the local cloud's DFW, timed from POST to the end."""

    def __init__(self, cloud: LocalCloudProcess) -> None:
        token, _, endpoints = rackspace_login(cloud.identity, "alice", "alice-api-key")
        self.cloud = cloud
        self.images = endpoints["image"]
        self.files = endpoints["object-store"]
        self.http = httpx.Client(headers={"X-Auth-Token": token}, timeout=120)
        self.token = token

    def run(
        self, contender: str, task_type: str, task_input: dict[str, object]
    ) -> tuple[Run, dict[str, str]]:
        """The run, and the finished task's ``result``."""
        before, io_before = cpu_seconds(self.cloud.pid), io_bytes(self.cloud.pid)
        start = time.perf_counter()
        body = {"type": task_type, "input": task_input}
        task = self.http.post(f"{self.images}/tasks", json=body).raise_for_status().json()
        while task["status"] not in ("success", "failure"):
            time.sleep(0.05)
            task = self.http.get(f"{self.images}/tasks/{task['id']}").json()
        seconds = time.perf_counter() - start
        if task["status"] != "success":
            raise RuntimeError(f"{contender}: {task['message']}")
        cpu = cpu_seconds(self.cloud.pid) - before
        read, written = (b - a for a, b in zip(io_before, io_bytes(self.cloud.pid), strict=True))
        run = Run(contender, seconds, cpu, "in the local cloud", read, written)
        return run, dict(task["result"])

    def delete_image(self, image_id: str) -> None:
        self.http.delete(f"{self.images}/images/{image_id}").raise_for_status()

    def delete_export(self, location: str) -> None:
        prefix = location.split("/", 1)[1]
        names = self.http.get(f"{self.files}/{CONTAINER}", params={"prefix": prefix})
        for name in names.text.split():
            self.http.delete(f"{self.files}/{CONTAINER}/{name}").raise_for_status()

    def upload(self, path: Path, name: str, segment_size: int) -> None:
        with ObjectsClient(StaticToken(self.token, self.files)) as client:
            client.ensure_container(CONTAINER)
            client.upload_file(path, CONTAINER, name, segment_size=segment_size)


@dataclass(frozen=True)
class StaticToken:
    """The objects client's token source, for one token and one endpoint."""

    value: str
    url: str

    def token(self) -> str:
        return self.value

    def reauthenticate(self, stale: str | None = None) -> str:
        return self.value

    def endpoint(self, service_type: str, region: str | None = None) -> str:
        return self.url


def io_bytes(pid: int) -> tuple[int, int]:
    """Bytes a process (and its reaped children, e.g. qemu-img) read and wrote by syscall."""
    fields = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    return int(fields["rchar"]), int(fields["wchar"])


def make_disks(work: Path, size: int) -> tuple[Path, Path]:
    raw, vhd = work / "dense.raw", work / "dense.vhd"
    with raw.open("wb") as out:
        for offset in range(0, size, 4 * MiB):
            out.write(os.urandom(min(4 * MiB, size - offset)))
    subprocess.run(["qemu-img", "convert", "-f", "raw", *VHD, str(raw), str(vhd)], check=True)
    return raw, vhd


def task_rounds(tasks: Tasks, suffix: str, export: bool) -> list[Run]:
    """One import of each upload (and one export), each image deleted again."""
    done = []
    for contender, name in ((IMPORT_SLO, "slo.vhd"), (IMPORT_PLAIN, "plain.vhd")):
        task_input = {"import_from": f"{CONTAINER}/{name}", "image_properties": {}}
        run, result = tasks.run(contender + suffix, "import", task_input)
        image_id = result["image_id"]
        if contender == IMPORT_SLO and export:
            target = {"image_uuid": image_id, "receiving_swift_container": CONTAINER}
            exported, where = tasks.run(EXPORT + suffix, "export", target)
            tasks.delete_export(where["export_location"])
            done.append(exported)
        tasks.delete_image(image_id)
        done.append(run)
    return done


def bench(args: argparse.Namespace, meta: dict[str, str]) -> list[Run]:
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(dir=args.work_dir) as tmp, ExitStack() as stack:
        work = Path(tmp)
        raw, vhd = make_disks(work, args.size_mib * MiB)
        sources = {"": None} | ({BASELINE: args.baseline_src} if args.baseline_src else {})
        sides: dict[str, Tasks] = {}
        for suffix, source in sources.items():
            data = work / f"localcloud{len(sides)}"
            settings = {"data_dir": str(data), "regions": ["DFW"], "task_workers": 1}
            sides[suffix] = Tasks(stack.enter_context(LocalCloudProcess(settings, source)))
            sides[suffix].upload(vhd, "slo.vhd", 64 * MiB)
            sides[suffix].upload(vhd, "plain.vhd", vhd.stat().st_size)
        meta["load average before the rounds"] = load()
        out = work / "out.vhd"

        def lower() -> list[Run]:
            convert = ["qemu-img", "convert", "-f", "raw", *VHD, str(raw), str(out)]
            return [pair(LOWER, convert, [*SHA256[args.sha256], str(raw)])]

        def imitated() -> list[Run]:
            convert = ["qemu-img", "convert", "-f", "vpc", *VHD, str(vhd), str(out)]
            return [pair(IMITATED, convert, ["md5sum", str(out)])]

        contenders: list[Callable[[], list[Run]]] = [lower, imitated]
        contenders += [partial(task_rounds, t, suffix, args.export) for suffix, t in sides.items()]
        for index in range(args.rounds):
            shift = index % len(contenders)
            this_round = [r for c in contenders[shift:] + contenders[:shift] for r in c()]
            out.unlink(missing_ok=True)
            runs += this_round
            print(
                f"round {index + 1}: "
                + ", ".join(f"{r.contender} {r.seconds:.2f} s/{r.cpu:.2f} CPU" for r in this_round),
                flush=True,
            )
        for suffix, tasks in sides.items():
            peak = peak_rss_mib(tasks.cloud.pid)
            meta[f"local cloud{suffix} peak RSS"] = f"{peak:.0f} MiB"
    return runs


def report(runs: list[Run], meta: dict[str, str], args: argparse.Namespace) -> str:
    size = args.size_mib * MiB
    lines = [f"* {key}: {value}" for key, value in meta.items()]
    lines += [
        "",
        "| contender | median s | best s | median CPU s | bytes read / size | written / size |",
        "|---|---|---|---|---|---|",
    ]
    median: dict[str, float] = {}
    names = list(dict.fromkeys(r.contender for r in runs))
    for name in names:
        mine = [r for r in runs if r.contender == name]
        median[name] = statistics.median(r.seconds for r in mine)
        best = min(r.seconds for r in mine)
        cpu = statistics.median(r.cpu for r in mine)
        io = "2.00 | 1.00"  # the reference tools: one convert pass and one hashing pass
        if name not in (LOWER, IMITATED):
            read = statistics.median(r.read for r in mine) / size
            io = f"{read:.2f} | {statistics.median(r.written for r in mine) / size:.2f}"
        lines.append(f"| {name} | {median[name]:.2f} | {best:.2f} | {cpu:.2f} | {io} |")
    for name in (LOWER, IMITATED):
        steps = "; ".join(r.steps for r in runs if r.contender == name)
        lines.append(f"\n{name}, each round: {steps}")
    lines += ["", f"Ratios (median times, {args.size_mib} MiB):", ""]
    for name in names:
        if name in (LOWER, IMITATED):
            continue
        line = (
            f"* {name}: **{median[name] / median[LOWER]:.2f}×** the lower bound, "
            f"{median[name] / median[IMITATED]:.2f}× the imitated work"
        )
        if name + BASELINE in median:
            line += f", {median[name + BASELINE] / median[name]:.2f}× faster than the baseline"
        lines.append(line)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sha256", choices=sorted(SHA256), default="openssl")
    parser.add_argument("--no-export", dest="export", action="store_false")
    parser.add_argument("--work-dir", type=Path, default=None, help="Where data and disks go.")
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="Also run the tasks on a local cloud from this src dir (another version).",
    )
    parser.add_argument("--write", type=Path, help="Also write the report to this file.")
    args = parser.parse_args()
    meta = environment(
        f"--size-mib {args.size_mib} --rounds {args.rounds} --sha256 {args.sha256}"
        + ("" if args.export else " --no-export")
        + (f" --baseline-src {args.baseline_src}" if args.baseline_src else "")
    )
    meta["qemu-img"] = version_of(["qemu-img", "--version"])
    meta["coreutils"] = version_of(["md5sum", "--version"])
    table = report(bench(args, meta), meta, args)
    print(table)
    if args.write:
        args.write.write_text(table + "\n")


if __name__ == "__main__":
    main()
