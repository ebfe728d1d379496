"""Import of 1 GiB end to end vs its lower bound (convert + one sha256 pass), step by step.

Issue 13's row: the import flow (its own process, default settings, against the
local cloud and a Prefect server started by the script, see ``_stack.py``) on a
raw image of random bytes, against the least work any import must do on the
client: ``qemu-img convert`` raw → dynamic VHD plus one sha256 pass over the
source (hashlib, as the pipeline hashes). Rounds alternate the lower bound and
the flow, so both see the same load. The flow's own report gives each step.

    .venv/bin/python bench/import_end_to_end.py --size-mib 1024 --rounds 3
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stack import FlowRun, MiB, environment, make_dense_raw, stack

READ = 4 * MiB


def lower_bound(raw: Path, out: Path) -> dict[str, float]:
    """Seconds of the convert and of one sha256 pass, done one after the other."""
    began = time.perf_counter()
    subprocess.run(
        ["qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic",
         str(raw), str(out)],
        check=True,
    )  # fmt: skip
    converted = time.perf_counter()
    digest = hashlib.sha256()
    with raw.open("rb") as f:
        while chunk := f.read(READ):
            digest.update(chunk)
    hashed = time.perf_counter()
    out.unlink()
    return {"convert": converted - began, "sha256": hashed - converted, "total": hashed - began}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work-dir", type=Path, help="Scratch space (default: a temp dir).")
    parser.add_argument("--write", type=Path, help="Also write the report to this file.")
    args = parser.parse_args()
    meta = environment(f"--size-mib {args.size_mib} --rounds {args.rounds}")
    bounds: list[dict[str, float]] = []
    runs: list[FlowRun] = []
    with tempfile.TemporaryDirectory(dir=args.work_dir) as tmp:
        work = Path(tmp)
        raw = make_dense_raw(work / "dense.raw", args.size_mib * MiB)
        with stack(work, [("importer", "DFW")], src=None) as running:
            for round_ in range(args.rounds):
                bounds.append(lower_bound(raw, work / "bound.vhd"))
                runs.append(running.run_flow("import", str(raw), "importer", f"e2e-{round_}"))
                print(
                    f"round {round_ + 1}: lower bound {bounds[-1]['total']:.1f} s,"
                    f" import {runs[-1].flow_seconds:.1f} s (process {runs[-1].seconds:.1f} s)",
                    flush=True,
                )
    table = report(bounds, runs, meta)
    print(table)
    if args.write:
        args.write.write_text(table + "\n")


def report(bounds: list[dict[str, float]], runs: list[FlowRun], meta: dict[str, str]) -> str:
    lines = [f"* {key}: {value}" for key, value in meta.items()]
    lines += ["", "| what | median s | best s |", "|---|---|---|"]

    def row(name: str, values: list[float]) -> None:
        lines.append(f"| {name} | {statistics.median(values):.2f} | {min(values):.2f} |")

    for part in ("convert", "sha256", "total"):
        row(f"lower bound: {part}", [b[part] for b in bounds])
    row("import flow (from the flow's call to its return)", [r.flow_seconds for r in runs])
    row("↳ the flow's process, spawn to exit", [r.seconds for r in runs])
    names: list[str] = []
    for run in runs:
        names += [n for n in _step_names(run) if n not in names]
    for name in names:
        row(f"↳ step {name}", [_step(run, name) for run in runs])
    ratio = statistics.median(r.flow_seconds for r in runs) / statistics.median(
        b["total"] for b in bounds
    )
    cpu = statistics.median(r.cpu["local cloud"] for r in runs)
    lines += [
        "",
        f"* import flow / lower bound (medians): **{ratio:.2f}×**; goal: ≤ 2×",
        f"* CPU s of the local cloud per import (its task's convert and md5): {cpu:.1f}",
    ]
    return "\n".join(lines)


def _step_names(run: FlowRun) -> list[str]:
    steps = run.report.get("steps") or []
    assert isinstance(steps, list)
    return [str(s["name"]) for s in steps]


def _step(run: FlowRun, name: str) -> float:
    steps = run.report.get("steps") or []
    assert isinstance(steps, list)
    return sum(float(s["seconds"]) for s in steps if s["name"] == name)


if __name__ == "__main__":
    main()
