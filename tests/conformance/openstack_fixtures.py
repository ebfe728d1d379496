"""The parametrised ``os_target`` fixture: a real mini OpenStack (slow) and the local cloud.

Import into a test module with ``from openstack_fixtures import *``. The real one is the
``real_openstack`` session fixture (tests/helpers/openstack.py, via conftest.py); the
local one is the ``local_cloud`` of conftest.py, whose Keystone v3 seeds the same users.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from openstack_targets import OpenStackTarget
from targets_files import FileServer

__all__ = ["local_openstack", "os_target", "real_openstack_target"]


@pytest.fixture(scope="session")
def real_openstack_target(real_openstack: Any) -> OpenStackTarget:
    d = real_openstack.directory
    return OpenStackTarget(
        "real",
        real_openstack.keystone_url,
        domains=dict(d.domains),
        projects=dict(d.projects),
        users=dict(d.users),
        serve_dir=real_openstack.serve_dir,
        file_url=real_openstack.file_url,
    )


@pytest.fixture(scope="session")
def local_openstack(local_cloud: Any, local_files: FileServer) -> OpenStackTarget:
    directory = local_cloud.services.keystone.directory
    return OpenStackTarget(
        "local",
        local_cloud.keystone_url.removesuffix("/v3"),
        domains={d.name: d.id for d in directory.domains.values()},
        projects={p.name: p.id for p in directory.projects.values()},
        users={u.name: u.id for u in directory.users.values()},
        serve_dir=local_files.root,
        file_url=local_files.url,
    )


@pytest.fixture(params=[pytest.param("real", marks=pytest.mark.slow), "local"])
def os_target(request: pytest.FixtureRequest) -> Iterator[OpenStackTarget]:
    """A per-test view of one OpenStack; images it made are deleted afterwards."""
    name = "real_openstack_target" if request.param == "real" else "local_openstack"
    view: OpenStackTarget = request.getfixturevalue(name).view()
    yield view
    view.cleanup()
