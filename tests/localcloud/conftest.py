"""A local cloud shared by the tests of this folder (started once per session); logins, faults."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cloudimages.localcloud import LocalCloud, LocalCloudSettings
from tests.helpers.identity import Session, login
from tests.helpers.scripted_server import Faults


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    settings = LocalCloudSettings(data_dir=tmp_path_factory.mktemp("localcloud"))
    with LocalCloud(settings) as running:
        yield running


@pytest.fixture
def alice(cloud: LocalCloud) -> Session:
    return login(cloud.identity_url, "alice", "alice-api-key")


@pytest.fixture
def bob(cloud: LocalCloud) -> Session:
    return login(cloud.identity_url, "bob", "bob-api-key")


@pytest.fixture
def faults(cloud: LocalCloud) -> Iterator[Faults]:
    """The local cloud's fault injection; every rule is cleared after the test."""
    injected = Faults.of(cloud.identity_url)
    yield injected
    injected.clear()
