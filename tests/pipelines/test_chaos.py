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

import pytest
from pydantic import SecretStr

from cloudimages import diskimage
from cloudimages.blocks import CloudImagesAccount
from cloudimages.errors import CloudImagesError, NotFound
from cloudimages.localcloud import LocalCloud, LocalCloudSettings
from cloudimages.steps.sources import work_dir
from tests.helpers.diskimages import make_qcow2, make_raw
from tests.pipelines.support import Faults, block, export_image, import_image, replicate_image

pytestmark = pytest.mark.slow

T = TypeVar("T")
SEED = int(os.environ.get("CHAOS_SEED", "20261130"))
RERUNS = 3
IMPORTS, KILLED, REPLICATED = 10, 4, 3
SCRIPT = Path(__file__).with_name("_crash_import.py")
SPEC = ";".join(
    [
        "files:*:PUT:*_segments/*=reset@0.06",
        "files:*:PUT:*_segments/*=latency:0.03",
        "files:*:PUT:*/cloudimages-staging/*=truncate@0.1",
        "files:*:GET:*=503@0.04",
        "images:*:GET:*=503@0.06",
        "images:*:GET:/v2/images*=429@0.04,retry_after=0.05",
        "images:*:POST:/v2/tasks=500@0.1",
        "identity:POST:*=503@0.04",
        "task:import=failure:396@0.12",
    ]
)
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
def chaos(tmp_path_factory: pytest.TempPathFactory, prefect_api: str) -> Iterator[Chaos]:
    settings = LocalCloudSettings(
        data_dir=tmp_path_factory.mktemp("chaos-cloud"),
        faults=SPEC,
        fault_seed=SEED,
        token_lifetime=5.0,
    )
    with LocalCloud(settings) as cloud:
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
    delay = chaos.random.uniform(3.0, 8.0)
    try:
        child.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        chaos.kills.append(round(delay, 2))
    report = chaos.until_done(name, lambda: import_image(str(source), "chaos-alice", name))
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


def test_chaos(chaos: Chaos, prefect_api: str, tmp_path: Path) -> None:
    """Every request converges to exactly one verified image; nothing is left behind."""
    began = time.monotonic()
    sources: dict[str, Path] = {}
    made: dict[str, str] = {}
    for n in range(IMPORTS + KILLED):
        name = f"chaos-{n:02d}"
        size = (4 if n < IMPORTS else 24) * 1024 * 1024
        maker = make_qcow2 if n % 2 else make_raw
        sources[name] = maker(tmp_path, f"{name}.{'qcow2' if n % 2 else 'raw'}", size=size)
    for name, source in sources.items():
        if name >= f"chaos-{IMPORTS:02d}":
            made[name] = killed_then_rerun(chaos, prefect_api, source, name)
        else:
            report = chaos.until_done(
                name, lambda s=source, n=name: import_image(str(s), "chaos-alice", n)
            )
            made[name] = report.image_id
    for name, image_id in made.items():
        sha = hashlib.sha256(sources[name].read_bytes()).hexdigest()
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


def _summary(chaos: Chaos, made: dict[str, str], copies: dict[str, str], seconds: float) -> None:
    state = Faults(chaos.cloud).state()
    fired = {
        f"{r['service']} {r['method']} {r['path']} {r.get('action')} {r.get('status', '')}": r[
            "fired"
        ]
        for r in state["faults"]
    }
    fired |= {
        f"task {t['task_type']} {t['outcome']} {t.get('code')}": t["fired"]
        for t in state.get("task_outcomes", [])
    }
    summary: dict[str, Any] = {
        "seed": SEED,
        "seconds": round(seconds, 1),
        "imports": len(made),
        "killed": chaos.kills,
        "replicated": len(copies),
        "reruns": dict(chaos.reruns),
        "errors_before_rerun": dict(chaos.errors),
        "bytes_compared": chaos.compared_bytes,
        "faults_fired": fired,
    }
    print(json.dumps(summary, indent=2))
    target = os.environ.get("CLOUDIMAGES_CHAOS_REPORT")
    if target:
        Path(target).write_text(json.dumps(summary, indent=2) + "\n")
