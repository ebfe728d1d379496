"""Capabilities: GET /info at the root of the storage host, without authentication."""

from __future__ import annotations

from targets import ObjectStoreTarget


def test_info_is_public_json(target: ObjectStoreTarget) -> None:
    """GET /info needs no token and answers 200 with a JSON object."""
    resp = target.http.get(f"{target.root_url}/info")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    assert isinstance(resp.json(), dict)


def test_info_swift_limits(target: ObjectStoreTarget) -> None:
    """The `swift` section states max_file_size and the name length limits."""
    swift = target.http.get(f"{target.root_url}/info").json()["swift"]
    assert swift["max_file_size"] == target.max_file_size
    assert swift["max_object_name_length"] == 1024
    assert swift["max_container_name_length"] == 256
    assert swift["container_listing_limit"] == 10000


def test_info_slo(target: ObjectStoreTarget) -> None:
    """The `slo` section states segment count, manifest size and minimum segment size."""
    slo = target.http.get(f"{target.root_url}/info").json()["slo"]
    assert slo["max_manifest_segments"] == 1000
    assert slo["max_manifest_size"] == 8 * 1024 * 1024
    assert slo["min_segment_size"] == 1


def test_info_tempurl(target: ObjectStoreTarget) -> None:
    """The `tempurl` section lists the signable methods and sha1/sha256 among the digests."""
    tempurl = target.http.get(f"{target.root_url}/info").json()["tempurl"]
    assert {"GET", "HEAD", "PUT"} <= set(tempurl["methods"])
    assert {"sha1", "sha256"} <= set(tempurl["allowed_digests"])
