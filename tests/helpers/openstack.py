"""A real mini OpenStack (Keystone 30, Glance 33, Swift 2.38) as a session fixture.

Any test folder can use it: import the fixture into that folder's conftest.py
(``from tests.helpers.openstack import real_openstack  # noqa: F401``) and mark the tests
``slow``. It starts once per session however many folders import it (cached on the pytest
config), installs what it needs into ``$CLOUDIMAGES_CACHE_DIR`` (or ``.cache/``) the first
time, and yields a started ``RealOpenStack`` (tests/conformance/realopenstack.py):

- ``auth_url`` (Keystone ``.../v3``), ``keystone_url``, ``glance_url(region)``,
  ``swift_url``, ``storage_url(project)``, ``file_url(name)`` for files in ``serve_dir``
  (the one port its Glances may web-download from);
- ``directory``: ids of domains, projects, users and roles by name;
- ``app_credential``: ``id``/``name``/``secret`` of user1's credential on demo1;
- ``clouds_yaml``: one cloud per user (``user1``..``user3``, ``reader1``, ``otheruser``,
  ``admin``, ``user1-appcred``), region RegionOne;
- ``token(user, project)``: a project-scoped token (password ``<user>-password``).

Users (domain Default unless said): ``admin`` (admin on project admin and the system,
``admin-password``), ``user1``/``user2``/``user3`` (member on demo1/demo2/demo3),
``reader1`` (reader on demo1: may read images, not upload), ``otheruser`` (member on
other1, domain Other). RegionOne's Glance has the default configuration; RegionTwo's is
strict (raw and qcow2 only, glance-direct only, 4 MB of images per project).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))

from realopenstack import RealOpenStack, default_cache_dir, ensure_openstack_installed

__all__ = ["RealOpenStack", "real_openstack"]

_KEY = pytest.StashKey[RealOpenStack]()


@pytest.fixture(scope="session")
def real_openstack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> RealOpenStack:
    """Keystone + two Glances + Swift with real tokens on 127.0.0.1, started once."""
    config = request.config
    if _KEY not in config.stash:
        keystone_venv, glance_venv = ensure_openstack_installed(default_cache_dir())
        workdir = tmp_path_factory.mktemp("openstack")
        cloud = RealOpenStack(keystone_venv, glance_venv, workdir).start()
        config.stash[_KEY] = cloud
        config.add_cleanup(cloud.stop)
    return config.stash[_KEY]
