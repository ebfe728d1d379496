"""The local cloud's upstream-OpenStack side as a product: settings, ports, restarts, CLI.

How it answers is pinned against a real OpenStack by tests/conformance; these tests cover
what only the local cloud has: its configuration, its state across restarts, its dialects
kept apart, and how ``cloudimages localcloud serve`` offers it.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cloudimages.localcloud import LocalCloud, LocalCloudSettings
from cloudimages.localcloud.settings import OpenStackRegionSpec
from tests.helpers.identity import login
from tests.helpers.keystone import v3_login

OCTET = {"Content-Type": "application/octet-stream"}


def _free_port_block(size: int) -> int:
    """A base port whose next ``size`` ports are free right now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + size < 65000 and all(_free(base + i) for i in range(size)):
            return base
    raise RuntimeError("no free block of ports")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_region_one_takes_the_ports_after_the_rackspace_regions(tmp_path: Path) -> None:
    """With --port P and DFW, IAD, ORD, RegionOne's image and object ports are P+7 and P+8."""
    base = _free_port_block(9)
    with LocalCloud(LocalCloudSettings(data_dir=tmp_path, port=base)) as cloud:
        session = v3_login(cloud.keystone_url, "user1", "demo1")

        assert cloud.keystone_url == f"http://127.0.0.1:{base}/v3"
        assert session.endpoint("image") == f"http://127.0.0.1:{base + 7}"
        assert session.endpoint("object-store").startswith(f"http://127.0.0.1:{base + 8}/v1/")


def test_tokens_and_credentials_survive_a_restart(tmp_path: Path) -> None:
    """A v3 token and an application credential still work after a stop and a start."""
    settings = LocalCloudSettings(data_dir=tmp_path)
    with LocalCloud(settings) as cloud:
        session = v3_login(cloud.keystone_url, "user1", "demo1")
        url = f"{cloud.keystone_url}/users/{session.user_id}/application_credentials"
        made = httpx.post(
            url, headers=session.headers, json={"application_credential": {"name": "keep"}}
        ).json()["application_credential"]
    with LocalCloud(settings) as again:
        check = httpx.get(
            f"{again.keystone_url}/auth/tokens",
            headers={**session.headers, "X-Subject-Token": session.token},
        )
        method = {"id": made["id"], "secret": made["secret"]}
        body = {
            "auth": {
                "identity": {
                    "methods": ["application_credential"],
                    "application_credential": method,
                }
            }
        }
        by_cred = httpx.post(f"{again.keystone_url}/auth/tokens", json=body)

        assert check.status_code == 200
        assert by_cred.status_code == 201
        assert by_cred.json()["token"]["project"]["id"] == session.project_id


def test_the_two_dialects_do_not_take_each_others_tokens(cloud: LocalCloud) -> None:
    """A Rackspace token is 401 on RegionOne; a Keystone v3 token is 401 on DFW."""
    rackspace = login(cloud.identity_url, "alice", "alice-api-key")
    upstream = v3_login(cloud.keystone_url, "user1", "demo1")

    on_glance = httpx.get(f"{upstream.endpoint('image')}/v2/images", headers=rackspace.headers)
    on_swift = httpx.get(upstream.endpoint("object-store"), headers=rackspace.headers)
    on_dfw = httpx.get(f"{rackspace.endpoint('image', 'DFW')}/images", headers=upstream.headers)

    assert (on_glance.status_code, on_swift.status_code, on_dfw.status_code) == (401, 401, 401)


def test_no_openstack_regions(tmp_path: Path) -> None:
    """``openstack_regions=()``: Keystone answers, its catalog has identity only."""
    settings = LocalCloudSettings(data_dir=tmp_path, openstack_regions=())
    with LocalCloud(settings) as cloud:
        session = v3_login(cloud.keystone_url, "user1", "demo1")

        assert [s["type"] for s in session.body["token"]["catalog"]] == [
            "identity",
            "image",
            "object-store",
        ]
        assert all(not s["endpoints"] for s in session.body["token"]["catalog"])
        assert login(cloud.identity_url, "alice", "alice-api-key").token


def test_a_slow_import_is_seen_importing(tmp_path: Path) -> None:
    """With task_processing_delay an import stays ``importing`` long enough to watch."""
    strict = OpenStackRegionSpec(name="RegionOne", import_methods=("glance-direct",))
    settings = LocalCloudSettings(
        data_dir=tmp_path, task_processing_delay=1.0, openstack_regions=(strict,)
    )
    with LocalCloud(settings) as cloud:
        session = v3_login(cloud.keystone_url, "user1", "demo1")
        glance = session.endpoint("image")
        body = {"disk_format": "raw", "container_format": "bare"}
        image = httpx.post(f"{glance}/v2/images", headers=session.headers, json=body).json()["id"]
        data = os.urandom(10_000)
        httpx.put(
            f"{glance}/v2/images/{image}/stage", headers={**session.headers, **OCTET}, content=data
        )
        method = {"method": {"name": "glance-direct"}}
        started = httpx.post(
            f"{glance}/v2/images/{image}/import", headers=session.headers, json=method
        )
        during = httpx.get(f"{glance}/v2/images/{image}", headers=session.headers).json()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            after = httpx.get(f"{glance}/v2/images/{image}", headers=session.headers).json()
            if after["status"] == "active":
                break
            time.sleep(0.1)

        assert started.status_code == 202
        assert (during["status"], during["os_glance_importing_to_stores"]) == ("importing", "fs")
        assert after["status"] == "active"
        assert not list((tmp_path / "staging" / "regionone").iterdir())


def test_cli_serve_prints_keystone_and_takes_openstack_users(tmp_path: Path) -> None:
    """`serve --openstack-user` adds a Keystone v3 user; the banner shows Keystone and users."""
    command = [
        sys.executable,
        "-m",
        "cloudimages.cli",
        "localcloud",
        "serve",
        "--port",
        "0",
        "--data-dir",
        str(tmp_path),
        "--openstack-user",
        "ops:ops-secret:tools:reader",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C stops" in line:
                break
        output = "".join(lines)
        match = re.search(r"Keystone v3\s+(http://\S+/v3)", output)
        assert match, output
        assert "user1-password" in output
        session = v3_login(match.group(1), "ops", "tools", password="ops-secret")
        assert [r["name"] for r in session.body["token"]["roles"]] == ["reader"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--openstack-user", "only:two"], "NAME:PASSWORD:PROJECT"),
        (["--openstack-region", "dfw"], "both Rackspace and OpenStack regions"),
    ],
)
def test_cli_serve_rejects_bad_openstack_options(
    tmp_path: Path, args: list[str], says: str
) -> None:
    """Malformed OpenStack options are usage errors (exit 2) without a traceback."""
    command = [sys.executable, "-m", "cloudimages.cli", "localcloud", "serve", "--port", "0"]
    command += ["--data-dir", str(tmp_path), *args]

    result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)

    assert result.returncode == 2
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def test_interrupted_upload_leaves_the_image_queued_and_no_bytes(cloud: LocalCloud) -> None:
    """A client that hangs up mid-upload: the image is queued again, nothing stays on disk."""
    session = v3_login(cloud.keystone_url, "user1", "demo1")
    glance = httpx.URL(session.endpoint("image"))
    body = {"disk_format": "raw", "container_format": "bare"}
    image = httpx.post(f"{glance}/v2/images", headers=session.headers, json=body).json()["id"]
    tmp_dir = Path(cloud.settings.data_dir) / "imagestore" / "regionone" / "tmp"
    before = set(tmp_dir.iterdir())
    with socket.create_connection((glance.host, glance.port)) as sock:
        head = (
            f"PUT /v2/images/{image}/file HTTP/1.1\r\nHost: {glance.host}\r\n"
            f"X-Auth-Token: {session.token}\r\nContent-Type: application/octet-stream\r\n"
            "Content-Length: 1000000\r\n\r\n"
        )
        sock.sendall(head.encode() + b"x" * 300_000)
    deadline = time.monotonic() + 15
    doc: dict[str, object] = {}
    while time.monotonic() < deadline:
        doc = httpx.get(f"{glance}/v2/images/{image}", headers=session.headers).json()
        if doc["status"] == "queued" and set(tmp_dir.iterdir()) == before:
            break
        time.sleep(0.05)

    assert (doc["status"], doc["size"]) == ("queued", None)
    assert set(tmp_dir.iterdir()) == before
