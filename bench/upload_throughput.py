"""Upload throughput: ``ObjectsClient.upload_file`` vs ``swift upload --use-slo``.

All contenders upload the same random file to the same real Swift 2.38.3 (started
with the conformance harness), as an SLO with the same segment size and the same
number of parallel segment uploads, in rounds whose order rotates. Each process is
timed on its own: wall time and CPU time from its ``os.wait4`` rusage, peak RSS from
GNU ``time`` (``/usr/bin/time``; see ``run_group``).

Contenders:

* ``ours``: ``ObjectsClient.upload_file`` in one process; it also computes md5 and
  sha256 of the whole file, checks every segment's ETag and lists the segment
  container so that a rerun resumes.
* ``ours, no whole-file md5``: the same with ``UploadOptions(content_md5=False)``:
  sha256 of the whole file and the md5 of every segment (as the CLI), no whole-file md5.
* ``swift CLI``: ``swift upload --use-slo``; it checks segment ETags only.
* ``swift CLI + md5sum + sha256sum``: equal work, as a user would script it: the same
  CLI upload, then ``md5sum FILE``, then ``sha256sum FILE``, one after the other.
* ``swift CLI ∥ md5sum ∥ sha256sum``: the same three processes started together
  (``swift upload … & md5sum … & sha256sum … & wait``).

``--sha256 openssl`` swaps ``sha256sum`` for ``openssl dgst -sha256`` in both (the
coreutils build may lack SHA-NI; OpenSSL, like Python's hashlib, uses it).

A multi-process contender is timed as one unit, from its first spawn to its last
exit; its CPU time and peak RSS are summed over its processes (for the sequential
variant, whose processes never coexist, the summed RSS is an upper bound). The
whole-file digests of md5sum and the sha256 tool are checked against those of ``ours``.

    .venv/bin/python bench/upload_throughput.py --size-mib 512 --segment-mib 64 \\
        --concurrency 4 --rounds 5 --write /tmp/upload-64.md
"""

from __future__ import annotations

import argparse
import os
import platform
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "conformance"))
sys.path.insert(0, str(REPO))

from realswift import RealSwift, default_cache_dir, ensure_swift_installed  # noqa: E402

MiB = 1024 * 1024
TIME = "/usr/bin/time"  # GNU time, for the peak RSS of each process (see run_group)
USER, KEY = "test:tester", "testing"

OURS_TOOL = "ours"
OURS_LEAN = "ours, no whole-file md5"
CLI = "swift CLI"
CLI_SEQ = "swift CLI + md5sum + sha256sum"
CLI_PAR = "swift CLI ∥ md5sum ∥ sha256sum"
TOOLS = (OURS_TOOL, OURS_LEAN, CLI, CLI_SEQ, CLI_PAR)
SHORT = {OURS_TOOL: "ours", OURS_LEAN: "lean", CLI: "cli", CLI_SEQ: "cliseq", CLI_PAR: "clipar"}
SHA256 = {"sha256sum": ["sha256sum"], "openssl": ["openssl", "dgst", "-sha256"]}


def label(tool: str, args: argparse.Namespace) -> str:
    """The tool's name in the report: ``sha256sum`` becomes ``openssl sha256`` if asked."""
    return tool.replace("sha256sum", "openssl sha256") if args.sha256 == "openssl" else tool


def digest(out: str) -> str:
    """The hex digest printed by md5sum/sha256sum (``HEX  FILE``) or openssl (``…= HEX``)."""
    return out.rsplit(maxsplit=1)[-1] if "= " in out else out.split(maxsplit=1)[0]


OURS = """
import sys
from cloudimages.client.objects import ObjectsClient, UploadOptions

url, token, path, container, name, segment, threads, whole_md5 = sys.argv[1:9]

class Source:
    def token(self) -> str: return token
    def reauthenticate(self, stale=None) -> str: return token
    def endpoint(self, service_type, region=None) -> str: return url

options = UploadOptions(
    segment_size=int(segment), concurrency=int(threads), content_md5=whole_md5 == "yes"
)
with ObjectsClient(Source(), options=options) as files:
    result = files.upload_file(path, container, name)
print(result.md5, result.sha256, result.segments)
"""


@dataclass(frozen=True)
class Proc:
    name: str
    seconds: float  # from this process's spawn to its exit
    cpu: float  # user + system seconds
    peak_rss: int  # bytes
    out: str


@dataclass(frozen=True)
class Run:
    tool: str
    seconds: float  # the whole unit: first spawn to last exit
    procs: tuple[Proc, ...]

    @property
    def cpu(self) -> float:
        return sum(p.cpu for p in self.procs)

    @property
    def peak_rss(self) -> int:
        return sum(p.peak_rss for p in self.procs)

    def part(self, name: str) -> Proc:
        return next(p for p in self.procs if p.name == name)


def run_group(group: list[tuple[str, list[str]]]) -> list[Proc]:
    """Start every process of ``group`` together and reap them all.

    Each runs under GNU ``time`` only for its peak RSS: a child forked from this
    (~40 MiB) Python process inherits its RSS high-water mark across ``exec``, so the
    ``ru_maxrss`` of ``os.wait4`` would never read below ours. ``time``'s own fresh,
    small address space is what the measured process is forked from.
    """
    done = []
    with tempfile.TemporaryDirectory() as tmp, selectors.DefaultSelector() as exits:
        pending = {}
        for index, (name, argv) in enumerate(group):
            rss_file = Path(tmp) / f"{index}.rss"
            timed = [TIME, "-q", "-f", "%M", "-o", str(rss_file), *argv]
            start = time.perf_counter()
            proc = subprocess.Popen(timed, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            fd = os.pidfd_open(proc.pid)
            exits.register(fd, selectors.EVENT_READ)
            pending[fd] = (name, start, proc, rss_file)
        while pending:  # reap in exit order so each process gets its own end time
            for key, _ in exits.select():
                end = time.perf_counter()
                name, start, proc, rss_file = pending.pop(key.fd)
                exits.unregister(key.fd)
                os.close(key.fd)
                _, status, usage = os.wait4(proc.pid, 0)  # includes time's reaped child
                proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: tell Popen
                out, err = proc.communicate()
                if proc.returncode != 0:
                    raise RuntimeError(f"{name} failed:\n{out.decode()}\n{err.decode()[-3000:]}")
                cpu = usage.ru_utime + usage.ru_stime
                peak = int(rss_file.read_text().split()[-1]) * 1024
                done.append(Proc(name, end - start, cpu, peak, out.decode()))
    return done


def run_unit(tool: str, stages: list[list[tuple[str, list[str]]]]) -> Run:
    """Run ``stages`` one after the other (each stage's processes concurrently), timed as one."""
    start = time.perf_counter()
    procs: list[Proc] = []
    for group in stages:
        procs += run_group(group)
    return Run(tool, time.perf_counter() - start, tuple(procs))


def make_file(path: Path, size: int) -> None:
    with path.open("wb") as out:
        for _ in range(size // (4 * MiB)):
            out.write(os.urandom(4 * MiB))
        out.write(os.urandom(size % (4 * MiB)))


def version_of(argv: list[str]) -> str:
    result = subprocess.run(argv, check=True, capture_output=True, text=True)
    return (result.stdout or result.stderr).splitlines()[0].strip()


def check_digests(runs: list[Run]) -> None:
    """The md5sum and sha256 tool digests must equal the whole-content digests ours reports."""
    ours = next(r for r in runs if r.tool == OURS_TOOL)
    md5, sha256, _ = ours.procs[0].out.split()
    for run in runs:
        if run.tool in (CLI_SEQ, CLI_PAR):
            got = (digest(run.part("md5sum").out), digest(run.part("sha256sum").out))
            if got != (md5, sha256):
                raise RuntimeError(f"{run.tool}: digests {got} != ours {(md5, sha256)}")


def bench(args: argparse.Namespace, meta: dict[str, str]) -> list[Run]:
    venv = ensure_swift_installed(default_cache_dir())
    size, segment = args.size_mib * MiB, args.segment_mib * MiB
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp, RealSwift(venv, Path(tmp) / "swift") as swift:
        path = Path(tmp) / "payload.bin"
        make_file(path, size)
        url, token = swift.auth_v1(USER, KEY)
        info = httpx.get(f"{swift.proxy_url}/info", timeout=10).json()
        meta["Swift server"] = f"{info['swift']['version']} on " + version_of(
            [str(venv / "bin" / "python"), "-V"]
        )
        cli = [str(REPO / ".venv/bin/swift"), "--os-auth-token", token, "--os-storage-url", url]
        subprocess.run([*cli, "post", "bench"], check=True)

        def upload(name: str) -> list[str]:
            stock = [*cli, "upload", "--use-slo", "-S", str(segment)]
            stock += ["--segment-threads", str(args.concurrency), "--object-name", name]
            return [*stock, "bench", str(path)]

        def contender(tool: str, i: int) -> Run:
            name = f"{SHORT[tool]}-{i}"
            md5 = ("md5sum", ["md5sum", str(path)])
            sha = ("sha256sum", [*SHA256[args.sha256], str(path)])
            if tool in (OURS_TOOL, OURS_LEAN):
                ours = [sys.executable, "-c", OURS, url, token, str(path), "bench", name]
                ours += [str(segment), str(args.concurrency), "yes" if tool == OURS_TOOL else "no"]
                return run_unit(tool, [[(tool, ours)]])
            if tool == CLI:
                return run_unit(tool, [[("swift", upload(name))]])
            if tool == CLI_SEQ:
                return run_unit(tool, [[("swift", upload(name))], [md5], [sha]])
            return run_unit(tool, [[("swift", upload(name)), md5, sha]])

        load = os.getloadavg()
        meta["load average before the rounds"] = " / ".join(f"{x:.2f}" for x in load)
        for i in range(args.rounds):
            order = TOOLS[i % len(TOOLS) :] + TOOLS[: i % len(TOOLS)]  # rotate who goes first
            this_round = [contender(tool, i) for tool in order]
            check_digests(this_round)
            runs += this_round
            for tool in TOOLS:  # keep the disk small between rounds
                name = f"{SHORT[tool]}-{i}"
                subprocess.run([*cli, "delete", "bench", name], check=True, capture_output=True)
            timings = ", ".join(f"{label(r.tool, args)} {r.seconds:.2f}s" for r in this_round)
            print(f"round {i + 1}: {timings}", flush=True)
    return runs


def environment(args: argparse.Namespace) -> dict[str, str]:
    model = "?"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    meta = {
        "nproc": f"{version_of(['nproc'])} ({model}), {total:.0f} GiB RAM",
        "load average at start (1/5/15 min)": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
        "Python (ours, swift CLI)": f"{platform.python_version()} ({sys.executable})",
        "swift CLI": version_of([str(REPO / ".venv/bin/swift"), "--version"]),
        "coreutils": version_of(["md5sum", "--version"]),
        "kernel": platform.release(),
        "parameters": (
            f"--size-mib {args.size_mib} --segment-mib {args.segment_mib} "
            f"--concurrency {args.concurrency} --rounds {args.rounds} --sha256 {args.sha256}"
        ),
    }
    if args.sha256 == "openssl":
        meta["openssl"] = version_of(["openssl", "version"])
    return meta


def report(args: argparse.Namespace, runs: list[Run], meta: dict[str, str]) -> str:
    size = args.size_mib
    lines = [f"* {key}: {value}" for key, value in meta.items()]
    lines += [
        "",
        "| tool | median s | median MiB/s | best MiB/s | median CPU s | peak RSS MiB (max) |",
        "|---|---|---|---|---|---|",
    ]
    median: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for tool in TOOLS:
        mine = [r for r in runs if r.tool == tool]
        median[tool] = statistics.median(r.seconds for r in mine)
        cpu[tool] = statistics.median(r.cpu for r in mine)
        best = size / min(r.seconds for r in mine)
        rss = max(r.peak_rss for r in mine) / MiB
        lines.append(
            f"| {label(tool, args)} | {median[tool]:.2f} | {size / median[tool]:.1f} | {best:.1f} "
            f"| {cpu[tool]:.2f} | {rss:.0f} |"
        )
    lines += [
        "",
        "Steps inside the multi-process contenders (medians of each process on its own):",
        "",
    ]
    for tool in (CLI_SEQ, CLI_PAR):
        mine = [r for r in runs if r.tool == tool]
        parts = []
        for name in ("swift", "md5sum", "sha256sum"):
            secs = statistics.median(r.part(name).seconds for r in mine)
            cpus = statistics.median(r.part(name).cpu for r in mine)
            parts.append(f"{label(name, args)} {secs:.2f} s ({cpus:.2f} CPU s)")
        lines.append(f"* {label(tool, args)}: " + ", ".join(parts))
    lines += ["", "Throughput ratios (median time of the other / median time of ours):", ""]
    for ours in (OURS_TOOL, OURS_LEAN):
        for other in (CLI, CLI_SEQ, CLI_PAR):
            ratio = median[other] / median[ours]
            cpu_ratio = cpu[ours] / cpu[other]
            lines.append(
                f"* {ours} / {label(other, args)}: **{ratio:.2f}** "
                f"(CPU time ours / theirs: {cpu_ratio:.2f})"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--segment-mib", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--sha256",
        choices=sorted(SHA256),
        default="sha256sum",
        help="Whole-file sha256 tool of the CLI + hash contenders.",
    )
    parser.add_argument("--write", type=Path, help="Also write the report to this file.")
    args = parser.parse_args()
    meta = environment(args)
    runs = bench(args, meta)
    table = report(args, runs, meta)
    print(table)
    if args.write:
        args.write.write_text(table + "\n")


if __name__ == "__main__":
    main()
