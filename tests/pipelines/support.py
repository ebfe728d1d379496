"""Helpers of the pipeline tests: saved blocks, the fault admin API, live cloud settings.

A module of its own (not ``conftest``) so that test modules import it by a unique name.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from cloudimages.blocks import CloudImagesAccount
from cloudimages.localcloud import LocalCloud
from tests.helpers.identity import login


def block(name: str) -> CloudImagesAccount:
    found = CloudImagesAccount.load(name)
    assert isinstance(found, CloudImagesAccount)
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
