"""Replicate one image to 1, 4 and 8 accounts (copy mode): peak RSS and wall time of the flow.

The source image (dense random data, default 256 MiB) is imported once into the
``source`` account (DFW); each replicate then copies it to fresh accounts in IAD
(so none has a copy yet) with ``flows.replicate_image`` in its own process (see
``_stack.py``), with default settings. Goals (issue 13): peak RSS flat in the number
of targets; 8 targets within 2× the wall time of 1.

    .venv/bin/python bench/replicate_fanout.py --size-mib 256 --targets 1,4,8 --rounds 2
    .venv/bin/python bench/replicate_fanout.py --src /path/to/other/checkout/src   # before
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
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--targets", default="1,4,8", help="Comma-separated target counts.")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--src", type=Path, help="Run the flows with this checkout's src.")
    parser.add_argument("--work-dir", type=Path, help="Scratch space (default: a temp dir).")
    parser.add_argument("--write", type=Path, help="Also write the report to this file.")
    args = parser.parse_args()
    counts = [int(n) for n in args.targets.split(",")]
    meta = environment(
        f"--size-mib {args.size_mib} --targets {args.targets} --rounds {args.rounds}"
        + (f" --src {args.src}" if args.src else "")
    )
    plan = [(r, n) for r in range(args.rounds) for n in (counts if r % 2 == 0 else counts[::-1])]
    names = {
        key: [f"t{i}-{key[0]}-{key[1]}-{j}" for j in range(key[1])] for i, key in enumerate(plan)
    }
    accounts = [("source", "DFW")] + [(n, "IAD") for group in names.values() for n in group]
    runs: dict[int, list[FlowRun]] = {n: [] for n in counts}
    with tempfile.TemporaryDirectory(dir=args.work_dir) as tmp:
        work = Path(tmp)
        image = make_dense_raw(work / "source.raw", args.size_mib * MiB)
        with stack(work, accounts, src=args.src) as running:
            imported = running.run_flow("import", str(image), "source", "fan-out source")
            image_id = str(imported.report["image_id"])
            for key in plan:
                run = running.run_flow("replicate", image_id, "source", *names[key])
                runs[key[1]].append(run)
                print(
                    f"round {key[0] + 1}: {key[1]} target(s): peak RSS {run.peak_rss / MiB:.0f}"
                    f" MiB, {run.seconds:.1f} s",
                    flush=True,
                )
    table = report(runs, counts, meta)
    print(table)
    if args.write:
        args.write.write_text(table + "\n")


def report(runs: dict[int, list[FlowRun]], counts: list[int], meta: dict[str, str]) -> str:
    lines = [f"* {key}: {value}" for key, value in meta.items()]
    lines += [
        "",
        "| targets | runs | peak RSS MiB (max) | peak RSS MiB (median) | wall s (median)"
        " | flow s (median) |",
        "|---|---|---|---|---|---|",
    ]
    peak, wall = {}, {}
    for n in counts:
        mine = runs[n]
        peak[n] = max(r.peak_rss for r in mine) / MiB
        wall[n] = statistics.median(r.seconds for r in mine)
        lines.append(
            f"| {n} | {len(mine)} | {peak[n]:.0f} "
            f"| {statistics.median(r.peak_rss for r in mine) / MiB:.0f} | {wall[n]:.1f} "
            f"| {statistics.median(r.flow_seconds for r in mine):.1f} |"
        )
    lines += [
        "",
        "Where the time goes (Prefect task runs of the median run; span: first start"
        " to last end, total: run times added up):",
        "",
    ]
    for n in counts:
        median_run = sorted(runs[n], key=lambda r: r.seconds)[(len(runs[n]) - 1) // 2]
        parts = [
            f"{name} {t.span:.1f} s span / {t.total:.1f} s total ×{t.count}"
            for name, t in sorted(median_run.steps.items(), key=lambda kv: -kv[1].total)
            if t.total >= 0.5
        ]
        cpu = ", ".join(f"{name} {seconds:.1f}" for name, seconds in median_run.cpu.items())
        lines.append(f"* {n} target(s): " + "; ".join(parts) + f". CPU s: {cpu}")
    one = counts[0]
    lines += ["", f"Ratios to {one} target(s) (peak RSS: max; wall time: median):", ""]
    for n in counts[1:]:
        lines.append(
            f"* {n} targets: peak RSS **{peak[n] / peak[one]:.2f}×** ({peak[n] - peak[one]:+.0f}"
            f" MiB), wall time **{wall[n] / wall[one]:.2f}×**"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
