"""Quotas of the local cloud's Cloud Images: members, tags and properties per image."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from cloudimages.client import AccountSession, Credentials, ImagesClient
from cloudimages.localcloud import LocalCloud, LocalCloudSettings
from tests.helpers.identity import login
from tests.helpers.images import import_image, small_vhd


def test_an_image_takes_no_more_members_than_the_limit(tmp_path: Path) -> None:
    """With member_limit=2, a third member is 413 Over Limit and is not added."""
    settings = LocalCloudSettings(data_dir=tmp_path / "cloud", regions=("DFW",), member_limit=2)
    with LocalCloud(settings) as cloud:
        creds = Credentials(
            username="alice", api_key="alice-api-key", identity_url=cloud.identity_url
        )
        with AccountSession(creds) as session:
            images = ImagesClient(session)
            image = import_image(images, small_vhd(tmp_path), "limited")
            alice = login(cloud.identity_url, "alice", "alice-api-key")
            url = f"{alice.endpoint('image', 'DFW')}/images/{image.id}/members"
            statuses = [
                httpx.post(url, json={"member": tenant}, headers=alice.headers).status_code
                for tenant in ("200001", "200002", "200003")
            ]
            assert statuses == [200, 200, 413]
            listed = httpx.get(url, headers=alice.headers).json()["members"]
            assert sorted(m["member_id"] for m in listed) == ["200001", "200002"]


TOO_MANY_TAGS = [{"op": "replace", "path": "/tags", "value": [f"t{i}" for i in range(129)]}]
TOO_MANY_PROPERTIES = [{"op": "add", "path": f"/x.p{i}", "value": "v"} for i in range(129)]


@pytest.mark.parametrize("patch", [TOO_MANY_TAGS, TOO_MANY_PROPERTIES], ids=["tags", "properties"])
def test_tag_and_property_quotas_are_413(
    cloud: LocalCloud, tmp_path: Path, patch: list[dict[str, object]]
) -> None:
    """More than 128 tags, or more than 128 custom properties, is 413 and changes nothing."""
    creds = Credentials(username="bob", api_key="bob-api-key", identity_url=cloud.identity_url)
    with AccountSession(creds) as session:
        image = import_image(ImagesClient(session), small_vhd(tmp_path), "quota")
    bob = login(cloud.identity_url, "bob", "bob-api-key")
    url = f"{bob.endpoint('image', 'DFW')}/images/{image.id}"
    headers = {**bob.headers, "Content-Type": "application/openstack-images-v2.1-json-patch"}
    response = httpx.patch(url, json=patch, headers=headers)
    assert response.status_code == 413
    after = httpx.get(url, headers=bob.headers).json()
    assert after["tags"] == []
    assert "x.p0" not in after
