"""A seeded chaos run: imports, exports and replicates under mixed faults and random kills.

A local cloud of its own answers with resets, cut-short answers, 5xx, 429s with
Retry-After, failed task creations, intermittent 396 import failures and 5-second
tokens; some imports run in a child process that is SIGKILLed at a random moment and
then rerun here. A request that fails is rerun, as an operator would (at most
``RERUNS`` times). At the end: exactly one image per request, every image's disk
content identical to its source (exported, downloaded, ``qemu-img compare``), no
staged upload or export left in any account or region, no work file left behind.
``CHAOS_SEED`` picks another run; the summary is printed (``pytest -s``) and, with
``CLOUDIMAGES_CHAOS_REPORT=path``, written as JSON (docs/reliability.md quotes it).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from pydantic import SecretStr

from cloudimages import diskimage
from cloudimages.blocks import CloudImagesAccount
from cloudimages.errors import CloudImagesError, NotFound
from cloudimages.localcloud import LocalCloud, LocalCloudSettings
from cloudimages.steps.sources import WORK_DIR_ENV, work_dir
from tests.helpers.diskimages import make_qcow2, make_raw, make_vhd
from tests.pipelines.support import Faults, block, export_image, import_image, replicate_image

pytestmark = pytest.mark.slow

T = TypeVar("T")
SEED = int(os.environ.get("CHAOS_SEED", "20261130"))
RERUNS = 3
MiB = 1024 * 1024
IMPORTS, KILLED, REPLICATED = 10, 4, 3
SCRIPT = Path(__file__).with_name("_crash_import.py")
FAULTS = [
    "files:*:PUT:*_segments/*=reset@0.12",
    "files:*:PUT:*/cloudimages-staging/*=truncate@0.2",
    "files:*:GET:*=503@0.1",
    "images:*:GET:*=503@0.15",
    "images:*:GET:/v2/images*=429@0.1,retry_after=0.05",
    "images:*:POST:/v2/tasks=500@0.2",
    "identity:POST:*=503@0.1",
    "task:import=failure:396@0.2",
]
#: Last rule: every request no fault picked, counted (the first matching rule wins).
SERVED = "*=latency:0.001"
BLOCKS = {
    "chaos-alice": ("alice", "DFW"),
    "chaos-bob": ("bob", "DFW"),
    "chaos-carol": ("carol", "IAD"),
}


class Chaos:
    """The run's random choices and what happened, for the summary."""

    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        self.random = random.Random(SEED)
        self.reruns: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.kills: list[float] = []
        self.compared_bytes = 0

    def until_done(self, what: str, call: Callable[[], T]) -> T:
        """Run a pipeline; rerun it after a failure, as an operator would."""
        for attempt in range(RERUNS + 1):
            try:
                return call()
            except CloudImagesError as error:
                self.errors[type(error).__name__] += 1
                if attempt == RERUNS:
                    raise
                self.reruns[what] += 1
        raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Raw and qcow2 disks to import, then fixed VHDs (uploaded slowly) for the killed runs."""
    where = tmp_path_factory.mktemp("chaos-sources")
    made: dict[str, Path] = {}
    for n in range(IMPORTS):
        name = f"chaos-{n:02d}"
        make = make_qcow2 if n % 2 else make_raw
        made[name] = make(where, f"{name}.{'qcow2' if n % 2 else 'raw'}", size=8 * MiB)
    for n in range(IMPORTS, IMPORTS + KILLED):
        name = f"chaos-{n:02d}"
        made[name] = make_vhd(where, "fixed", f"{name}.vhd", size=32 * MiB)
    return made


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def chaos(
    tmp_path_factory: pytest.TempPathFactory, prefect_api: str, sources: dict[str, Path]
) -> Iterator[Chaos]:
    killed = list(sources)[IMPORTS:]
    slow = [f"files:*:PUT:*_segments/{sha256_of(sources[k])}*=latency:0.15" for k in killed]
    settings = LocalCloudSettings(
        data_dir=tmp_path_factory.mktemp("chaos-cloud"),
        faults=";".join([*FAULTS, *slow, SERVED]),
        fault_seed=SEED,
        token_lifetime=5.0,
    )
    # A work folder of its own: other tests' crashed runs keep their work files for a rerun.
    with pytest.MonkeyPatch.context() as patch, LocalCloud(settings) as cloud:
        patch.setenv(WORK_DIR_ENV, str(tmp_path_factory.mktemp("chaos-work")))
        for name, (username, region) in BLOCKS.items():
            key = cloud.account(username).api_key
            CloudImagesAccount(
                username=username,
                api_key=SecretStr(key),
                region=region,
                identity_url=cloud.identity_url,
            ).save(name, overwrite=True)
        yield Chaos(cloud)


def killed_then_rerun(chaos: Chaos, prefect_api: str, source: Path, name: str) -> str:
    """Run the import in a child, SIGKILL it at a random moment, then rerun it here."""
    env = {**os.environ, "PREFECT_API_URL": prefect_api}
    args = [sys.executable, str(SCRIPT), str(source), "chaos-alice", name, "1"]
    child = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    delay = chaos.random.uniform(2.5, 6.0)
    try:
        child.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        chaos.kills.append(round(delay, 2))
    report = chaos.until_done(
        name, lambda: import_image(str(source), "chaos-alice", name, segment_size_mb=1)
    )
    return report.image_id


def same_content(chaos: Chaos, account: str, image_id: str, source: Path, tmp: Path) -> None:
    """Export the image, download it, and have qemu-img compare it with the source."""
    dest = tmp / f"{image_id}.vhd"
    chaos.until_done(
        f"export {image_id}",
        lambda: export_image(image_id, account, "chaos-exports", download_to=str(dest)),
    )
    fmt = diskimage.inspect_image(source).format
    assert diskimage.compare(dest, source, fmt_a="vpc", fmt_b=fmt), f"{image_id} differs"
    chaos.compared_bytes += dest.stat().st_size
    dest.unlink()


def images_of(account: str, region: str, **properties: str) -> list[str]:
    found = block(account).images_client(region).list_images(properties=properties)
    return [image.id for image in found]


def leftovers(account: str, region: str) -> dict[str, list[str]]:
    """What is left in the containers the pipelines stage in (none of it should be)."""
    left: dict[str, list[str]] = {}
    with block(account).objects_client(region) as files:
        for container in (
            "cloudimages-staging",
            "cloudimages-staging_segments",
            "cloudimages-replicate",
        ):
            try:
                names = [o.name for o in files.list_objects(container)]
            except NotFound:
                continue
            if names:
                left[container] = names
    return left


def test_chaos(chaos: Chaos, prefect_api: str, sources: dict[str, Path], tmp_path: Path) -> None:
    """Every request converges to exactly one verified image; nothing is left behind."""
    began = time.monotonic()
    made: dict[str, str] = {}
    for name, source in sources.items():
        if name >= f"chaos-{IMPORTS:02d}":
            made[name] = killed_then_rerun(chaos, prefect_api, source, name)
            continue
        report = chaos.until_done(
            name,
            lambda s=source, n=name: import_image(str(s), "chaos-alice", n, segment_size_mb=1),
        )
        made[name] = report.image_id
    for name, image_id in made.items():
        sha = sha256_of(sources[name])
        assert images_of("chaos-alice", "DFW", **{"cloudimages.source_sha256": sha}) == [image_id]
        same_content(chaos, "chaos-alice", image_id, sources[name], tmp_path)
    copies: dict[str, str] = {}
    for name in list(made)[:REPLICATED]:
        report = chaos.until_done(
            f"replicate {name}",
            lambda i=made[name]: replicate_image(i, "chaos-alice", ["chaos-bob", "chaos-carol"]),
        )
        carol = next(t for t in report.targets if t.account == "chaos-carol")
        assert carol.image_id is not None
        copies[name] = carol.image_id
    for name, copy_id in copies.items():
        marks = {"cloudimages.source_image": made[name]}
        assert images_of("chaos-carol", "IAD", **marks) == [copy_id]
        same_content(chaos, "chaos-carol", copy_id, sources[name], tmp_path)
    left = {
        f"{account} {region}": leftovers(account, region)
        for account in BLOCKS
        for region in ("DFW", "IAD")
    }
    assert {where: found for where, found in left.items() if found} == {}
    work = work_dir()
    stray = (
        [p.name for p in work.iterdir() if p.suffix in (".part", ".vhd")] if work.exists() else []
    )
    assert stray == []
    _summary(chaos, made, copies, time.monotonic() - began)


def _fault_state(cloud: LocalCloud) -> dict[str, Any]:
    """The fault counters: the admin's own login and read meet the chaos too, so retry."""
    for _ in range(30):
        try:
            return Faults(cloud).state()
        except (httpx.HTTPStatusError, httpx.TransportError):
            time.sleep(0.1)
    return Faults(cloud).state()


def _summary(chaos: Chaos, made: dict[str, str], copies: dict[str, str], seconds: float) -> None:
    state = _fault_state(chaos.cloud)
    served, faulted, fired = 0, 0, {}
    for rule in state["faults"]:
        if rule["action"] == "latency":
            served += rule["fired"]
            continue
        faulted += rule["fired"]
        what = rule["action"] if rule["action"] != "status" else rule["status"]
        fired[f"{rule['service']} {rule['method']} {rule['path']} {what}"] = rule["fired"]
    for outcome in state.get("task_outcomes", []):
        fired[f"task {outcome['task_type']} {outcome['outcome']} {outcome['code']}"] = outcome[
            "fired"
        ]
    summary: dict[str, Any] = {
        "seed": SEED,
        "seconds": round(seconds, 1),
        "imports": len(made),
        "killed_after_seconds": chaos.kills,
        "replicated": len(copies),
        "reruns": dict(chaos.reruns),
        "errors_before_rerun": dict(chaos.errors),
        "bytes_compared": chaos.compared_bytes,
        "requests": served + faulted,
        "requests_faulted": faulted,
        "fault_rate": round(faulted / max(1, served + faulted), 3),
        "faults_fired": fired,
    }
    print(json.dumps(summary, indent=2))
    target = os.environ.get("CLOUDIMAGES_CHAOS_REPORT")
    if target:
        Path(target).write_text(json.dumps(summary, indent=2) + "\n")
