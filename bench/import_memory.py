"""Peak RSS of the import flow: a small and a big image of dense data, against the local cloud.

Each import runs ``flows.import_image`` in its own process (see ``_stack.py``) with
default settings (64 MiB segments, 4 parallel uploads) on a raw image of random
bytes, which the flow converts to VHD, uploads and imports. The rounds alternate
the two sizes. Goal (issue 13): the big import's peak within +32 MiB of the small
one's, and below 250 MiB at any size.

    .venv/bin/python bench/import_memory.py --small-mib 64 --big-mib 1024 --rounds 2
    .venv/bin/python bench/import_memory.py --src /path/to/other/checkout/src   # before
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stack import FlowRun, MiB, environment, make_dense_raw, stack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small-mib", type=int, default=64)
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--src", type=Path, help="Run the flows with this checkout's src.")
    parser.add_argument("--work-dir", type=Path, help="Scratch space (default: a temp dir).")
    parser.add_argument("--write", type=Path, help="Also write the report to this file.")
    args = parser.parse_args()
    meta = environment(
        f"--small-mib {args.small_mib} --big-mib {args.big_mib} --rounds {args.rounds}"
        + (f" --src {args.src}" if args.src else "")
    )
    sizes = (args.small_mib, args.big_mib)
    runs: dict[int, list[FlowRun]] = {size: [] for size in sizes}
    with tempfile.TemporaryDirectory(dir=args.work_dir) as tmp:
        work = Path(tmp)
        images = {size: make_dense_raw(work / f"dense-{size}.raw", size * MiB) for size in sizes}
        with stack(work, [("importer", "DFW")], src=args.src) as running:
            for round_ in range(args.rounds):
                order = sizes if round_ % 2 == 0 else sizes[::-1]
                for size in order:
                    run = running.run_flow(
                        "import", str(images[size]), "importer", f"dense-{size}-{round_}"
                    )
                    runs[size].append(run)
                    print(
                        f"round {round_ + 1}: {size} MiB: peak RSS {run.peak_rss / MiB:.0f} MiB,"
                        f" {run.seconds:.1f} s",
                        flush=True,
                    )
    table = report(runs, sizes, meta)
    print(table)
    if args.write:
        args.write.write_text(table + "\n")


def report(runs: dict[int, list[FlowRun]], sizes: tuple[int, int], meta: dict[str, str]) -> str:
    lines = [f"* {key}: {value}" for key, value in meta.items()]
    lines += [
        "",
        "| image | runs | peak RSS MiB (max) | peak RSS MiB (median) | flow process VmHWM MiB"
        " (max) | wall s (median) | upload step s (median) | CPU s: flow / local cloud |",
        "|---|---|---|---|---|---|---|---|",
    ]
    peaks = {}
    for size in sizes:
        mine = runs[size]
        peaks[size] = max(r.peak_rss for r in mine) / MiB
        upload = statistics.median(_step(r, "upload") for r in mine)
        lines.append(
            f"| {size} MiB dense | {len(mine)} | {peaks[size]:.0f} "
            f"| {statistics.median(r.peak_rss for r in mine) / MiB:.0f} "
            f"| {max(r.vmhwm for r in mine) / MiB:.0f} "
            f"| {statistics.median(r.seconds for r in mine):.1f} | {upload:.1f} "
            f"| {statistics.median(r.cpu['flow'] for r in mine):.1f} / "
            f"{statistics.median(r.cpu['local cloud'] for r in mine):.1f} |"
        )
    small, big = sizes
    lines += [
        "",
        f"* peak RSS, {big} MiB vs {small} MiB: **{peaks[big] - peaks[small]:+.0f} MiB**"
        f" (ratio {peaks[big] / peaks[small]:.2f}); goal: within +32 MiB",
        f"* largest peak RSS: **{max(peaks.values()):.0f} MiB**; goal: below 250 MiB",
    ]
    return "\n".join(lines)


def _step(run: FlowRun, name: str) -> float:
    steps = run.report.get("steps") or []
    assert isinstance(steps, list)
    return sum(float(s["seconds"]) for s in steps if s["name"] == name)


if __name__ == "__main__":
    main()
