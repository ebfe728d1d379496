"""The real-OpenStack fixture keeps its promises: its clouds.yaml, credentials and regions.

Later suites (the OpenStack client, pipelines) lean on what ``real_openstack`` yields; these
tests check it once, through keystoneauth1 as a client would use it.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

pytestmark = pytest.mark.slow


def session_for(cloud: dict[str, Any]) -> ks_session.Session:
    """A keystoneauth session from one clouds.yaml entry (password or app credential)."""
    auth = dict(cloud["auth"])
    if cloud.get("auth_type") == "v3applicationcredential":
        return ks_session.Session(auth=v3.ApplicationCredential(**auth))
    return ks_session.Session(auth=v3.Password(**auth))


def test_every_cloud_of_the_clouds_yaml_logs_in(real_openstack: Any) -> None:
    """Each cloud (users, admin, user1's application credential) gets a scoped token."""
    clouds = yaml.safe_load(real_openstack.clouds_yaml.read_text())["clouds"]

    projects = {name: session_for(cloud).get_project_id() for name, cloud in clouds.items()}

    ids = real_openstack.directory.projects
    assert projects["user1"] == projects["user1-appcred"] == ids["demo1"]
    assert projects["reader1"] == ids["demo1"]
    assert projects["otheruser"] == ids["other1"]
    assert projects["admin"] == ids["admin"]


def test_regions_have_their_own_glance_and_share_swift(real_openstack: Any) -> None:
    """RegionOne and RegionTwo images differ; the object store is one Swift."""
    clouds = yaml.safe_load(real_openstack.clouds_yaml.read_text())["clouds"]
    session = session_for(clouds["user1"])

    def endpoint(kind: str, region: str) -> str:
        return str(session.get_endpoint(service_type=kind, region_name=region))

    assert endpoint("image", "RegionOne") == real_openstack.glance_url("RegionOne")
    assert endpoint("image", "RegionTwo") == real_openstack.glance_url("RegionTwo")
    assert endpoint("object-store", "RegionTwo") == real_openstack.storage_url("demo1")
