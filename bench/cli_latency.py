"""Command latency of the ``cloudimages`` CLI: a baseline revision against this checkout.

Both run from the same venv in one session, their runs interleaved, each command
in a process of its own (interpreter start-up included), against the same local
cloud on 127.0.0.1:

* ``--help``, ``accounts list``, ``images list``, ``accounts add`` (no pipeline), and
* ``import`` of a fresh 1 MiB qcow2 (a pipeline): wall time, and how long until
  the flow run begins and until its first step is done (read from Prefect's own
  log lines, ``--verbose``, which carry the time of day to the millisecond).

Two situations:

* ``server``: a Prefect server the user started (``prefect server start``,
  SQLite, recorder batch 100, as docs/deployments.md sets it up) named by
  ``PREFECT_API_URL``;
* ``no-server``: nothing set up, a fresh ``PREFECT_HOME``: the baseline starts a
  temporary Prefect API for every command; this checkout starts its background
  server on first use (timed once, as ``first use``) and reuses it.

The baseline is ``git archive REF src`` unpacked in a temporary directory and put
first on ``PYTHONPATH``; this checkout's ``src`` likewise.

    .venv/bin/python bench/cli_latency.py --baseline d019282 --runs 5 --write /tmp/cli.md
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from cloudimages.localcloud import LocalCloud, LocalCloudSettings  # noqa: E402

TASK_LINE = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) \| \w+\s*\| Task run '")
FLOW_LINE = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) \| \w+\s*\| Flow run '.*Beginning flow run")
MILESTONES = (("flow run begins", "flow_begins"), ("first step done", "first_step"))
QUIET = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "COLUMNS": "120",
    # A temporary API on a new database can take minutes on a loaded machine: never time out.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "600",
}


@dataclass
class Sample:
    wall: float
    cpu: float = 0.0  # user + system seconds of the process and the children it waited for
    flow_begins: float | None = None
    first_step: float | None = None


@dataclass
class Results:
    """Samples by (situation, command, variant)."""

    samples: dict[tuple[str, str, str], list[Sample]] = field(default_factory=dict)
    once: dict[str, float] = field(default_factory=dict)

    def add(self, situation: str, command: str, variant: str, sample: Sample) -> None:
        self.samples.setdefault((situation, command, variant), []).append(sample)


def unpack_baseline(ref: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", ref, "src"], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def seconds_after(line_match: re.Match[str], started: dt.datetime) -> float:
    h, m, s, ms = (int(g) for g in line_match.groups())
    stamp = started.replace(hour=h, minute=m, second=s, microsecond=ms * 1000)
    return (stamp - started).total_seconds()


def run(src: Path, env: dict[str, str], *args: str, pipeline: bool = False) -> Sample:
    """One command in its own process; must exit 0."""
    command = [sys.executable, "-m", "cloudimages.cli", *(["-v"] if pipeline else []), *args]
    started_at = dt.datetime.now()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        command,
        env={**env, "PYTHONPATH": str(src)},
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        msg = f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}"
        raise RuntimeError(msg)
    sample = Sample(wall, cpu)
    for line in done.stderr.splitlines():
        if sample.flow_begins is None and (found := FLOW_LINE.match(line)):
            sample.flow_begins = seconds_after(found, started_at)
        if sample.first_step is None and (found := TASK_LINE.match(line)):
            sample.first_step = seconds_after(found, started_at)
    return sample


def fresh_qcow2(directory: Path, n: int) -> Path:
    raw, image = directory / f"bench-{n}.raw", directory / f"bench-{n}.qcow2"
    raw.write_bytes(os.urandom(1024 * 1024))
    subprocess.run(
        ["qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", str(raw), str(image)], check=True
    )
    raw.unlink()
    return image


@contextlib.contextmanager
def prefect_server(home: Path) -> Iterator[str]:
    """``prefect server start`` in the foreground of a child process, as a user runs it."""
    with socket_port() as port:
        pass
    url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")} | {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": url,
        "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
        **QUIET,
    }
    prefect = Path(sys.executable).with_name("prefect")
    server = subprocess.Popen(
        [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(server.pid, 2)
        server.wait(timeout=60)


@contextlib.contextmanager
def socket_port() -> Iterator[int]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        yield probe.getsockname()[1]


def environment(home: Path, **extra: str) -> dict[str, str]:
    (home / "prefect-home").mkdir(parents=True)  # Prefect makes only the last level
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CLOUDIMAGES_"))}
    return (
        env
        | QUIET
        | extra
        | {
            "PREFECT_HOME": str(home / "prefect-home"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "XDG_DATA_HOME": str(home / "data"),
            "CLOUDIMAGES_WORK_DIR": str(home / "work"),
        }
    )


def measure(
    situation: str,
    *,
    variants: dict[str, tuple[Path, dict[str, str]]],
    cloud: LocalCloud,
    images: Path,
    runs: int,
    results: Results,
) -> None:
    """Save alice in each variant's Prefect, warm up once, then interleave the runs."""
    for src, env in variants.values():
        run(
            src, env, "accounts", "add", "alice", "--username", "alice", "--region", "DFW",
            "--identity-url", cloud.identity_url, "--api-key", "alice-api-key", "--overwrite",
        )  # fmt: skip
    commands: dict[str, tuple[str, ...]] = {
        "--help": ("--help",),
        "accounts list": ("accounts", "list", "--json"),
        "images list": ("images", "list", "--account", "alice", "--json"),
        "accounts add (saves a block)": (
            "accounts", "add", "bob", "--username", "bob", "--region", "DFW",
            "--identity-url", cloud.identity_url, "--api-key", "bob-api-key", "--overwrite",
        ),
    }  # fmt: skip
    counter = iter(range(10_000))
    for n in range(-1, runs):  # run -1 warms caches (bytecode, page cache, settings)
        for name, (src, env) in variants.items():
            for command, args in commands.items():
                sample = run(src, env, *args)
                if n >= 0:
                    results.add(situation, command, name, sample)
            image = fresh_qcow2(images, next(counter))
            sample = run(
                src, env, "import", str(image), "--account", "alice", "--name", image.stem,
                "--json", pipeline=True,
            )  # fmt: skip
            if n >= 0:
                results.add(situation, "import 1 MiB", name, sample)
            print(f"{situation} run {n} {name}: import {sample.wall:.2f} s", file=sys.stderr)


def describe_environment(ref: str) -> list[str]:
    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
         if ln.startswith("model name")),
        "?",
    )  # fmt: skip
    from importlib import metadata

    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return [
        f"- machine: {os.cpu_count()} cores ({cpu}), Linux {platform.release()}",
        f"- Python {platform.python_version()}, Prefect {metadata.version('prefect')}",
        f"- baseline {ref}, this checkout {head} (uncommitted changes included)",
        f"- load averages at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
    ]


def table(results: Results, situation: str, variants: list[str]) -> list[str]:
    lines = [
        f"| command | {' | '.join(f'{v} median (min) s' for v in variants)} | ratio |",
        f"|---|{'---|' * len(variants)}---|",
    ]
    commands = dict.fromkeys(c for (s, c, _) in results.samples if s == situation)
    for command in commands:
        walls = [[x.wall for x in results.samples[(situation, command, v)]] for v in variants]
        cells = [f"{statistics.median(w):.2f} ({min(w):.2f})" for w in walls]
        ratio = statistics.median(walls[0]) / statistics.median(walls[-1])
        lines.append(f"| {command} | {' | '.join(cells)} | {ratio:.1f}× |")
        for label, attribute in (*MILESTONES, ("CPU s of the command", "cpu")):
            found = [
                [getattr(x, attribute) for x in results.samples[(situation, command, v)]]
                for v in variants
            ]
            if all(None not in f for f in found):
                cells = [f"{statistics.median(f):.2f} ({min(f):.2f})" for f in found]
                ratio = statistics.median(found[0]) / statistics.median(found[-1])
                lines.append(f"| ↳ {label} | {' | '.join(cells)} | {ratio:.1f}× |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="main", help="git revision to compare with")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--situation", choices=["server", "no-server", "both"], default="both")
    parser.add_argument("--write", type=Path, help="also write the markdown report here")
    options = parser.parse_args()

    report = ["## CLI latency", "", *describe_environment(options.baseline), ""]
    results = Results()
    with tempfile.TemporaryDirectory(prefix="cli-bench-") as tmp:
        work = Path(tmp)
        baseline = unpack_baseline(options.baseline, work / "baseline")
        current = REPO / "src"
        (work / "images").mkdir()
        settings = LocalCloudSettings(data_dir=work / "localcloud")
        with LocalCloud(settings) as cloud:
            if options.situation in ("server", "both"):
                with prefect_server(work / "server-home") as url:
                    variants = {
                        name: (src, environment(work / f"a-{name}", PREFECT_API_URL=url))
                        for name, src in (("baseline", baseline), ("new", current))
                    }
                    measure(
                        "server",
                        variants=variants,
                        cloud=cloud,
                        images=work / "images",
                        runs=options.runs,
                        results=results,
                    )
                report += ["### With a Prefect server started by the user", ""]
                report += [*table(results, "server", ["baseline", "new"]), ""]
                print("\n".join(report), file=sys.stderr)
            if options.situation in ("no-server", "both"):
                variants = {
                    name: (src, environment(work / f"b-{name}"))
                    for name, src in (("baseline", baseline), ("new", current))
                }
                first = run(current, variants["new"][1], "server", "start")
                results.once["background server, first start (new database)"] = first.wall
                try:
                    measure(
                        "no-server",
                        variants=variants,
                        cloud=cloud,
                        images=work / "images",
                        runs=options.runs,
                        results=results,
                    )
                finally:
                    run(current, variants["new"][1], "server", "stop")
                report += ["### With no server set up (no PREFECT_API_URL)", ""]
                report += [*table(results, "no-server", ["baseline", "new"]), ""]
                report += [f"- {k}: {v:.2f} s" for k, v in results.once.items()] + [""]
    report.append(f"- load averages at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    text = "\n".join(report)
    print(text)
    if options.write:
        options.write.write_text(text + "\n")


if __name__ == "__main__":
    main()
