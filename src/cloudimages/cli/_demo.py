"""The demo: the whole story of cloudimages on an embedded local cloud, verified.

It starts a local cloud, saves account blocks for alice and bob (DFW) and carol
(IAD), makes a small real qcow2 with qemu-img, imports it into alice, shares it
with bob (accepting for him), replicates a copy to carol in IAD, exports it
from alice (downloaded and compared with the source by qemu-img), and checks
each outcome from the account that should see it.

Like the CLI, this is an edge: it imports the flows and the local cloud.
Call :func:`isolate_prefect` *before* anything imports Prefect, then
:func:`run_demo`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, SecretStr

from ..errors import CloudImagesError, QemuImgError

if TYPE_CHECKING:
    from ..blocks import CloudImagesAccount
    from ..localcloud import LocalCloud

__all__ = ["DEMO_ACCOUNTS", "DemoFailed", "DemoReport", "DemoStep", "isolate_prefect", "run_demo"]

#: Block name -> (local-cloud username, region).
DEMO_ACCOUNTS = {
    "demo-alice": ("alice", "DFW"),
    "demo-bob": ("bob", "DFW"),
    "demo-carol": ("carol", "IAD"),
}
#: The private cloud the image migrates to: a Keystone v3 user, project and region.
PRIVATE_CLOUD = ("user1", "demo1", "RegionOne")
PRIVATE_BLOCK = "demo-private"
IMAGE_NAME = "cloudimages-demo"
EXPORT_CONTAINER = "cloudimages-demo-export"
DISK_SIZE = "8M"
PATTERN = "write -P 0x5a 1M 1M"

#: Settings for a Prefect API the demo starts itself (prefect-notes §1, G1, G3, G6).
PREFECT_SETTINGS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


class DemoFailed(CloudImagesError):
    """A step of the demo did not have the outcome it should have."""


class DemoStep(BaseModel):
    """One verified step of the demo."""

    name: str
    ok: bool
    seconds: float
    detail: str = ""


class DemoReport(BaseModel):
    """Everything the demo did: steps, ids, and each flow's own report."""

    ok: bool = False
    seconds: float = 0.0
    data_dir: str
    prefect_api: str = Field(description="The Prefect API used, or 'temporary'.")
    identity_url: str | None = None
    source_image: str | None = None
    image_id: str | None = None
    steps: list[DemoStep] = Field(default_factory=list)
    reports: dict[str, dict[str, Any]] = Field(default_factory=dict)
    error: str | None = None


StepListener = Callable[[str, DemoStep | None], None]


def isolate_prefect(home: Path) -> bool:
    """Without ``PREFECT_API_URL``, give Prefect a temporary home and fast settings.

    Must run before Prefect is imported (its settings are read at import).
    Returns whether a temporary API will be used; with ``PREFECT_API_URL``
    set, the demo uses that server (and its UI shows the runs) instead.
    """
    if os.environ.get("PREFECT_API_URL"):
        return False
    if "prefect" in sys.modules:
        msg = "isolate_prefect() must run before prefect is imported"
        raise RuntimeError(msg)
    home.mkdir(parents=True, exist_ok=True)
    os.environ["PREFECT_HOME"] = str(home)
    os.environ["PREFECT_PROFILES_PATH"] = str(home / "profiles.toml")
    os.environ.update(PREFECT_SETTINGS)
    return True


def make_disk_image(directory: Path) -> Path:
    """An 8 MiB qcow2 with 1 MiB of 0x5a at offset 1 MiB, made by qemu-img and qemu-io."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "demo.qcow2"
    path.unlink(missing_ok=True)
    _tool("qemu-img", "create", "-q", "-f", "qcow2", str(path), DISK_SIZE)
    _tool("qemu-io", "-f", "qcow2", "-c", PATTERN, str(path))
    return path


def _tool(*command: str) -> None:
    if shutil.which(command[0]) is None:
        msg = f"{command[0]} is not installed; install qemu-utils (apt-get install qemu-utils)"
        raise QemuImgError(msg, command=command)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        msg = f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}"
        raise QemuImgError(msg, returncode=done.returncode, stderr=done.stderr, command=command)


class Demo:
    """The steps, in order, each timed, verified and told to the listener."""

    def __init__(self, report: DemoReport, work: Path, listener: StepListener | None) -> None:
        self.report = report
        self.work = work
        self.listener = listener or (lambda _name, _step: None)
        self.started = time.monotonic()

    @contextmanager
    def step(self, name: str) -> Iterator[list[str]]:
        """Time a step; what the body appends to the list becomes its detail."""
        self.listener(name, None)
        detail: list[str] = []
        began = time.monotonic()
        ok = False
        try:
            yield detail
            ok = True
        finally:
            done = DemoStep(
                name=name,
                ok=ok,
                seconds=round(time.monotonic() - began, 2),
                detail="; ".join(detail),
            )
            self.report.steps.append(done)
            self.listener(name, done)

    def blocks(self, cloud: LocalCloud) -> dict[str, CloudImagesAccount]:
        from ..blocks import CloudImagesAccount

        saved: dict[str, CloudImagesAccount] = {}
        for block_name, (username, region) in DEMO_ACCOUNTS.items():
            account = cloud.account(username)
            block = CloudImagesAccount(
                username=username,
                api_key=SecretStr(account.api_key),
                region=region,
                identity_url=cloud.identity_url,
            )
            block.save(block_name, overwrite=True)
            saved[block_name] = block
        return saved

    def private_cloud(self, cloud: LocalCloud) -> None:
        """The OpenStack block of the local cloud's private-cloud region (Keystone v3)."""
        from ..blocks import OpenStackAccount

        user, project, region = PRIVATE_CLOUD
        OpenStackAccount(
            auth_url=cloud.keystone_url,
            username=user,
            password=SecretStr(f"{user}-password"),
            project_name=project,
            region=region,
        ).save(PRIVATE_BLOCK, overwrite=True)

    def keep(self, name: str, flow_report: BaseModel) -> dict[str, Any]:
        data = flow_report.model_dump(mode="json")
        self.report.reports[name] = data
        return data


def connect_prefect(api: str) -> str:
    """Reach the Prefect API (this starts the temporary one: 10-20 s on a fresh home)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        failure = client.api_healthcheck()
    if failure is not None:
        msg = f"the Prefect API at {api} is not healthy: {failure}"
        raise DemoFailed(msg)
    return "temporary API started" if api == "temporary" else f"API at {api}"


def check(condition: bool, message: str) -> None:
    if not condition:
        raise DemoFailed(message)


def run_demo(
    work: Path, *, data_dir: Path | None = None, listener: StepListener | None = None
) -> DemoReport:
    """Run every step; on failure the report (``.error``) is kept on the raised error."""
    from prefect.settings import PREFECT_API_URL

    data = data_dir or work / "localcloud"
    report = DemoReport(data_dir=str(data), prefect_api=PREFECT_API_URL.value() or "temporary")
    demo = Demo(report, work, listener)
    try:
        _run(demo, data)
    except BaseException as err:
        report.error = f"{type(err).__name__}: {err}"
        report.seconds = round(time.monotonic() - demo.started, 2)
        err.demo_report = report  # type: ignore[attr-defined]
        raise
    report.ok = True
    report.seconds = round(time.monotonic() - demo.started, 2)
    return report


def _run(demo: Demo, data: Path) -> None:
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from ..localcloud import LocalCloud, LocalCloudSettings

    with demo.step("start the local cloud") as detail:
        cloud = LocalCloud(LocalCloudSettings(data_dir=data)).start()
        demo.report.identity_url = cloud.identity_url
        detail.append(f"Identity at {cloud.identity_url}")
    try:
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            from ._demo_story import tell

            tell(demo, cloud)
    finally:
        cloud.stop()
