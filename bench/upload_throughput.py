"""Upload throughput: ``ObjectsClient.upload_file`` vs ``swift upload --use-slo``.

Both upload the same random file to the same real Swift 2.38.3 (started with the
conformance harness), as an SLO with the same segment size and the same number of
parallel segment uploads, in alternating rounds. Each upload runs in its own
process; its wall time and peak RSS (``os.wait4`` rusage of that child) are recorded.
Ours also computes md5 + sha256 of the whole file and lists the segment container
to resume; the CLI does neither.

    .venv/bin/python bench/upload_throughput.py --size-mib 512 --segment-mib 64 \\
        --concurrency 4 --rounds 5 --write docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "conformance"))
sys.path.insert(0, str(REPO))

from realswift import RealSwift, default_cache_dir, ensure_swift_installed  # noqa: E402

MiB = 1024 * 1024
USER, KEY = "test:tester", "testing"

OURS = """
import sys
from cloudimages.client.objects import ObjectsClient, UploadOptions

url, token, path, container, name, segment, threads = sys.argv[1:8]

class Source:
    def token(self) -> str: return token
    def reauthenticate(self, stale=None) -> str: return token
    def endpoint(self, service_type, region=None) -> str: return url

options = UploadOptions(segment_size=int(segment), concurrency=int(threads))
with ObjectsClient(Source(), options=options) as files:
    result = files.upload_file(path, container, name)
print(result.md5, result.sha256, result.segments)
"""


@dataclass(frozen=True)
class Run:
    tool: str
    seconds: float
    peak_rss: int  # bytes
    cpu: float  # user + system seconds of the upload process


def run_child(tool: str, argv: list[str]) -> Run:
    """Run one upload process; wall time and that child's own peak RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    out, err = proc.communicate()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{tool} failed:\n{out.decode()}\n{err.decode()[-3000:]}")
    return Run(tool, seconds, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime)


def make_file(path: Path, size: int) -> None:
    with path.open("wb") as out:
        for _ in range(size // (4 * MiB)):
            out.write(os.urandom(4 * MiB))
        out.write(os.urandom(size % (4 * MiB)))


def bench(args: argparse.Namespace) -> list[Run]:
    venv = ensure_swift_installed(default_cache_dir())
    size, segment = args.size_mib * MiB, args.segment_mib * MiB
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp, RealSwift(venv, Path(tmp) / "swift") as swift:
        path = Path(tmp) / "payload.bin"
        make_file(path, size)
        url, token = swift.auth_v1(USER, KEY)
        cli = [str(REPO / ".venv/bin/swift"), "--os-auth-token", token, "--os-storage-url", url]
        subprocess.run([*cli, "post", "bench"], check=True)
        for i in range(args.rounds):
            ours = [sys.executable, "-c", OURS, url, token, str(path), "bench", f"ours-{i}"]
            runs.append(run_child("ours", [*ours, str(segment), str(args.concurrency)]))
            stock = [*cli, "upload", "--use-slo", "-S", str(segment)]
            stock += ["--segment-threads", str(args.concurrency), "--object-name", f"cli-{i}"]
            runs.append(run_child("swift CLI", [*stock, "bench", str(path)]))
            for name in (f"ours-{i}", f"cli-{i}"):  # keep the disk small between rounds
                subprocess.run([*cli, "delete", "bench", name], check=True, capture_output=True)
            print(f"round {i + 1}: " + ", ".join(f"{r.tool} {r.seconds:.2f}s" for r in runs[-2:]))
    return runs


def report(args: argparse.Namespace, runs: list[Run]) -> str:
    size = args.size_mib
    lines = [
        "| tool | median s | median MiB/s | best MiB/s | median CPU s | peak RSS MiB (max) |",
        "|---|---|---|---|---|---|",
    ]
    medians: dict[str, float] = {}
    for tool in ("ours", "swift CLI"):
        mine = [r for r in runs if r.tool == tool]
        median = statistics.median(r.seconds for r in mine)
        medians[tool] = size / median
        best = size / min(r.seconds for r in mine)
        rss = max(r.peak_rss for r in mine) / MiB
        cpu = statistics.median(r.cpu for r in mine)
        lines.append(
            f"| {tool} | {median:.2f} | {size / median:.1f} | {best:.1f} | {cpu:.2f} | {rss:.0f} |"
        )
    ratio = medians["ours"] / medians["swift CLI"]
    lines.append("")
    lines.append(f"Throughput ratio ours / CLI (medians): **{ratio:.2f}**")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--segment-mib", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--write", type=Path, help="Also write the table into this file.")
    args = parser.parse_args()
    runs = bench(args)
    table = report(args, runs)
    print(table)
    if args.write:
        args.write.write_text(table + "\n")


if __name__ == "__main__":
    main()
