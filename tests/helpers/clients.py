"""The project's own clients, logged in to a local cloud, for the client test modules.

Local-cloud accounts have the API key ``<username>-api-key`` (alice, bob, carol, ...).
``no_waiting`` is an autouse fixture: a test module that imports it runs with the
client's back-off waits turned off (``set_testing``), so retries take no time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from cloudimages.client import AccountSession, Credentials, ImagesClient, RetryPolicy, set_testing
from cloudimages.localcloud import LocalCloud


def credentials(cloud: LocalCloud, username: str = "alice", **extra: Any) -> Credentials:
    """API-key credentials of ``username`` on ``cloud``; ``extra`` overrides or adds fields."""
    key = extra.pop("api_key", f"{username}-api-key")
    return Credentials(username=username, api_key=key, identity_url=cloud.identity_url, **extra)


@contextmanager
def images_client(cloud: LocalCloud, username: str, **options: Any) -> Iterator[ImagesClient]:
    """An ``ImagesClient`` of ``username`` (three attempts per call); logged out on exit."""
    with AccountSession(credentials(cloud, username), retry=RetryPolicy(attempts=3)) as session:
        yield ImagesClient(session, **options)


@pytest.fixture(autouse=True)
def no_waiting() -> Iterator[None]:
    """Client back-offs and Retry-After waits take no time in the importing module."""
    set_testing(True)
    yield
    set_testing(False)
