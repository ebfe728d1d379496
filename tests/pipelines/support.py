"""Helpers of the pipeline tests: the flows called as the tests call them, saved blocks,
the fault admin API, live cloud settings.

A module of its own (not ``conftest``) so that test modules import it by a unique name.
Each flow takes one request model; ``import_image(source, account, name, **fields)``
and its siblings build it (with ``params.build``, so bad input raises
``ConfigurationError`` as the CLI's does) and run the flow.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from cloudimages import flows
from cloudimages.blocks import CloudImagesAccount, OpenStackAccount
from cloudimages.localcloud import LocalCloud
from cloudimages.params import (
    ExportRequest,
    ImportRequest,
    ReplicateRequest,
    ShareRequest,
    build,
)
from cloudimages.reports import ExportReport, ImportReport, ReplicateReport, ShareReport
from tests.helpers.identity import login


def import_image(source: str, account: str, name: str, **fields: Any) -> ImportReport:
    request = build(ImportRequest, source=source, account=account, name=name, **fields)
    return flows.import_image(request)


def export_image(image_id: str, account: str, container: str | None, **fields: Any) -> ExportReport:
    request = build(
        ExportRequest, image_id=image_id, account=account, container=container, **fields
    )
    return flows.export_image(request)


def share_image(
    image_id: str, account: str, consumers: list[str], *, accept: bool = True, **fields: Any
) -> ShareReport:
    request = build(
        ShareRequest,
        image_id=image_id,
        account=account,
        consumers=consumers,
        accept=accept,
        **fields,
    )
    return flows.share_image(request)


def replicate_image(
    image_id: str, source: str, targets: list[str], **fields: Any
) -> ReplicateReport:
    request = build(ReplicateRequest, image_id=image_id, source=source, targets=targets, **fields)
    return flows.replicate_image(request)


def block(name: str) -> CloudImagesAccount:
    found = CloudImagesAccount.load(name)
    assert isinstance(found, CloudImagesAccount)
    return found


def openstack(name: str) -> OpenStackAccount:
    found = OpenStackAccount.load(name)
    assert isinstance(found, OpenStackAccount)
    return found


class Faults:
    """The local cloud's fault admin API (``/admin/faults``), cleared after each test."""

    def __init__(self, cloud: LocalCloud) -> None:
        self.root = cloud.identity_url.removesuffix("/v2.0")
        self.token = login(cloud.identity_url, "admin", "admin-api-key").token

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = httpx.post(f"{self.root}{path}", json=body, headers={"X-Auth-Token": self.token})
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def add(self, **rule: Any) -> dict[str, Any]:
        """A rule such as ``service="files:DFW", method="PUT", action="reset", times=2``."""
        return self._post("/admin/faults", rule)

    def task_outcome(self, **outcome: Any) -> dict[str, Any]:
        return self._post("/admin/faults/tasks", outcome)

    def state(self) -> dict[str, Any]:
        answer = httpx.get(f"{self.root}/admin/faults", headers={"X-Auth-Token": self.token})
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def clear(self) -> None:
        httpx.delete(f"{self.root}/admin/faults", headers={"X-Auth-Token": self.token})


@contextmanager
def cloud_settings(cloud: LocalCloud, **changes: Any) -> Iterator[None]:
    """Change live settings of the running local cloud (its task engine reads them per task)."""
    before = {key: getattr(cloud.settings, key) for key in changes}
    for key, value in changes.items():
        setattr(cloud.settings, key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            setattr(cloud.settings, key, value)
