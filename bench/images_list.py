"""Image lists: the local cloud's ``GET /v2/images?limit=100`` vs real Glance 33, 5,000 images each.

Every target holds the same number of private images of one project, each with two custom
properties, and is asked for the same pages by ``wrk`` (C, keep-alive, a fixed number of
connections) for a fixed time, in rounds whose order rotates:

* ``glance``: real Glance 33.0.0 started by ``tests/conformance/realglance.py`` (gunicorn,
  one gthread worker with 8 threads unless ``--glance-workers``, sqlite in WAL mode, the
  header-trusting ``trusted`` paste flavour: no token check at all). Seeded with
  ``POST /v2/images``.
* ``local RegionOne``: the local cloud's upstream Glance 33 region behind its Keystone v3,
  seeded with ``POST /v2/images`` like Glance.
* ``local DFW``: the local cloud's Rackspace region. Cloud Images has no ``POST
  /v2/images`` (images come from import tasks), so the benchmark's server process writes the
  same records straight into the region's ``ImageStore`` before it serves.

``--baseline-src DIR`` adds both regions of a second local cloud run from another
version's ``src`` directory (``git archive <commit> src | tar -x -C /tmp/baseline``),
seeded and measured the same way: before and after in one run.

Pages asked for: the first (``?limit=100``) and one from the middle
(``?limit=100&marker=<the 2,500th image>``). A page must answer 200 with 100 images.
Besides requests per second, the report shows the server's CPU time per request (its
process tree's user + system time over the run), which other load on the machine
disturbs less than the rate.

    .venv/bin/python bench/images_list.py --images 5000 --connections 4 --seconds 10 --rounds 3

``wrk`` comes from Debian (``apt-get install wrk``); the script installs it when it runs
as root and it is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "conformance"))

from _support import (
    LocalCloudProcess,
    cpu_seconds,
    environment,
    keystone_login,
    load,
    rackspace_login,
    version_of,
    with_source,
)
from realglance import RealGlance, default_cache_dir, ensure_glance_installed

PROPERTIES = {"os_distro": "ubuntu", "com.example.role": "web"}
GLANCE_PROJECT = "bench-project"
SEED_THREADS = 8

# The DFW records, written by the server process into its own store before serving.
SEED_DFW = """
import json, sys, time, uuid
from cloudimages.localcloud import LocalCloud, LocalCloudSettings
from cloudimages.localcloud.images.store import ImageRecord, now_iso
settings = LocalCloudSettings.model_validate_json(sys.argv[1])
count, properties = int(sys.argv[2]), json.loads(sys.argv[3])
with LocalCloud(settings) as cloud:
    store = cloud.services.image_stores["DFW"]
    owner = cloud.account("alice").tenant_id
    start = time.time() - count
    for i in range(count):
        at = now_iso(start + i)
        doc = {"id": str(uuid.uuid4()), "name": f"image-{i:05d}", "status": "active",
               "visibility": "private", "protected": False, "checksum": uuid.uuid4().hex,
               "owner": owner, "size": 1_073_741_824 + i, "virtual_size": 1_073_741_824,
               "container_format": "ovf", "disk_format": "vhd", "created_at": at,
               "updated_at": at, "tags": [], "min_disk": 0, "min_ram": 0, **properties}
        store.put_image(ImageRecord(doc, uuid.uuid4().hex))
"""


@dataclass(frozen=True)
class Target:
    name: str
    url: str  # the images endpoint, ending in /v2
    headers: dict[str, str]
    pid: int  # the server process (tree) whose CPU time is counted


@dataclass(frozen=True)
class Sample:
    target: str
    page: str
    rate: float  # requests per second
    p50_ms: float
    p99_ms: float
    cpu_ms: float  # server CPU per request


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("wrk is missing: apt-get install wrk (as root), then run again.")
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        sys.exit("apt-get install wrk did not provide a wrk binary")
    return found


def seed_over_http(url: str, headers: dict[str, str], count: int) -> None:
    """``count`` images by ``POST /v2/images``, oldest first, a few requests at a time."""

    def create(index: int) -> None:
        body = {"name": f"image-{index:05d}", "disk_format": "raw", "container_format": "bare"}
        body |= {"visibility": "private", **PROPERTIES}
        response = client.post(f"{url}/images", json=body)
        if response.status_code != 201:
            raise RuntimeError(f"seeding {url}: {response.status_code} {response.text[:300]}")

    with (
        httpx.Client(headers=headers, timeout=60) as client,
        ThreadPoolExecutor(SEED_THREADS) as pool,
    ):
        for start in range(0, count, 500):
            list(pool.map(create, range(start, min(start + 500, count))))


def seed_dfw(settings: dict[str, Any], count: int, source: Path | None) -> None:
    argv = [sys.executable, "-c", SEED_DFW, json.dumps(settings), str(count)]
    subprocess.run([*argv, json.dumps(PROPERTIES)], check=True, env=with_source(source))


def pages(target: Target, count: int) -> dict[str, str]:
    """The two page URLs; checks that both answer 100 images."""
    first = f"{target.url}/images?limit=100"
    with httpx.Client(headers=target.headers, timeout=60) as client:
        every = []
        link: str | None = f"{target.url}/images?limit=1000&sort_key=created_at&sort_dir=desc"
        while link:
            body = client.get(link).raise_for_status().json()
            every += [image["id"] for image in body["images"]]
            nxt = body.get("next")
            link = str(httpx.URL(target.url).join(nxt)) if nxt else None
        mine = len(every)
        if mine < count:
            raise RuntimeError(f"{target.name} lists {mine} images, not {count}")
        middle = f"{first}&marker={every[count // 2 - 1]}"
        for url in (first, middle):
            got = client.get(url).raise_for_status().json()
            if len(got["images"]) != 100:
                raise RuntimeError(f"{target.name}: {url} gave {len(got['images'])} images")
    return {"first page": first, "middle page": middle}


def run_wrk(wrk: str, target: Target, page: str, url: str, args: argparse.Namespace) -> Sample:
    headers = [x for k, v in target.headers.items() for x in ("-H", f"{k}: {v}")]
    argv = [wrk, "-t", "1", "-c", str(args.connections), "-d", f"{args.seconds}s"]
    argv += ["--timeout", "60s", "--latency"]
    before = cpu_seconds(target.pid)
    out = subprocess.run([*argv, *headers, url], check=True, capture_output=True, text=True).stdout
    used = cpu_seconds(target.pid) - before
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"{target.name} {page}: errors under load:\n{out}")
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return Sample(
        target.name,
        page,
        rate,
        _latency(out, "50%"),
        _latency(out, "99%"),
        1000 * used / max(total, 1),
    )


def _latency(out: str, which: str) -> float:
    value, unit = re.search(rf"{which}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def bench(args: argparse.Namespace, meta: dict[str, str]) -> list[Sample]:
    wrk = ensure_wrk()
    meta["wrk"] = version_of([wrk, "--version"]).split(" [")[0]
    venv = ensure_glance_installed(default_cache_dir())
    meta["Glance"] = f"33.0.0, {args.glance_workers} gunicorn worker(s) x 8 threads"
    samples: list[Sample] = []
    with tempfile.TemporaryDirectory(dir=args.work_dir) as tmp, ExitStack() as stack:
        glance = RealGlance(venv, Path(tmp) / "glance", workers=args.glance_workers)
        stack.enter_context(glance)
        targets = glance_target(glance, args.images)
        versions = {"local": None} | ({"baseline": args.baseline_src} if args.baseline_src else {})
        for label, source in versions.items():
            settings = {"data_dir": str(Path(tmp) / label), "regions": ["DFW"]}
            started = time.perf_counter()
            seed_dfw(settings, args.images, source)
            print(f"seeded {label} DFW in {time.perf_counter() - started:.1f} s", flush=True)
            cloud = stack.enter_context(LocalCloudProcess(settings, source))
            targets += local_targets(label, cloud, args.images)
        urls = {t.name: pages(t, args.images) for t in targets}
        meta["load average before the rounds"] = load()
        for round_index in range(args.rounds):
            shift = round_index % len(targets)
            for target in targets[shift:] + targets[:shift]:
                for page, url in urls[target.name].items():
                    sample = run_wrk(wrk, target, page, url, args)
                    samples.append(sample)
                    print(
                        f"round {round_index + 1}: {target.name:19s} {page}: "
                        f"{sample.rate:7.1f} req/s, {sample.cpu_ms:6.2f} CPU ms/req",
                        flush=True,
                    )
    return samples


def glance_target(glance: RealGlance, count: int) -> list[Target]:
    gpid = int((glance.workdir / "gunicorn.pid").read_text())
    headers = RealGlance.headers(GLANCE_PROJECT, roles="member,reader")
    target = Target("glance", f"{glance.url}/v2", headers, gpid)
    seed(target, count)
    return [target]


def local_targets(label: str, cloud: LocalCloudProcess, count: int) -> list[Target]:
    """RegionOne (seeded here over HTTP) and DFW (seeded by its server) of one local cloud."""
    token, region_one = keystone_login(cloud.keystone, "user1", "user1-password", "demo1")
    upstream = Target(
        f"{label} RegionOne", f"{region_one.rstrip('/')}/v2", {"X-Auth-Token": token}, cloud.pid
    )
    seed(upstream, count)
    dfw_token, _, endpoints = rackspace_login(cloud.identity, "alice", "alice-api-key")
    dfw = Target(f"{label} DFW", endpoints["image"], {"X-Auth-Token": dfw_token}, cloud.pid)
    return [upstream, dfw]


def seed(target: Target, count: int) -> None:
    started = time.perf_counter()
    seed_over_http(target.url, target.headers, count)
    print(f"seeded {target.name} in {time.perf_counter() - started:.1f} s", flush=True)


def report(samples: list[Sample], meta: dict[str, str]) -> str:
    lines = [f"* {key}: {value}" for key, value in meta.items()]
    lines += [
        "",
        "| target | page | median req/s | best req/s | p50 ms | p99 ms | server CPU ms/req |",
        "|---|---|---|---|---|---|---|",
    ]
    median: dict[tuple[str, str], float] = {}
    cpu: dict[tuple[str, str], float] = {}
    keys = list(dict.fromkeys((s.target, s.page) for s in samples))
    for key in keys:
        mine = [s for s in samples if (s.target, s.page) == key]
        median[key] = statistics.median(s.rate for s in mine)
        cpu[key] = statistics.median(s.cpu_ms for s in mine)
        lines.append(
            f"| {key[0]} | {key[1]} | {median[key]:.1f} | {max(s.rate for s in mine):.1f} "
            f"| {statistics.median(s.p50_ms for s in mine):.1f} "
            f"| {statistics.median(s.p99_ms for s in mine):.1f} | {cpu[key]:.2f} |"
        )
    lines += ["", "Ratios to Glance (medians; rate: local / glance, CPU: glance / local):", ""]
    for target, page in keys:
        if target == "glance":
            continue
        rate = median[target, page] / median["glance", page]
        cost = cpu["glance", page] / cpu[target, page]
        lines.append(f"* {target}, {page}: rate **{rate:.1f}×**, CPU per request {cost:.1f}×")
    changed = [(t, p) for t, p in keys if ("baseline" + t.removeprefix("local"), p) in median]
    if changed:
        lines += ["", "This version against the baseline (rate: this / baseline):", ""]
    for target, page in changed:
        before = median["baseline" + target.removeprefix("local"), page]
        lines.append(f"* {target}, {page}: **{median[target, page] / before:.1f}×**")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--glance-workers", type=int, default=1)
    parser.add_argument("--work-dir", type=Path, default=None, help="Where the servers keep data.")
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="Also measure a local cloud run from this src dir (another version).",
    )
    parser.add_argument("--write", type=Path, help="Also write the report to this file.")
    args = parser.parse_args()
    meta = environment(
        f"--images {args.images} --connections {args.connections} --seconds {args.seconds}"
        f" --rounds {args.rounds} --glance-workers {args.glance_workers}"
        + (f" --baseline-src {args.baseline_src}" if args.baseline_src else "")
    )
    table = report(bench(args, meta), meta)
    print(table)
    if args.write:
        args.write.write_text(table + "\n")


if __name__ == "__main__":
    main()
