"""Running the local cloud: restarts keep state, the CLI serves it, ports are explicit."""

from __future__ import annotations

import hashlib
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
from cloudimages.localcloud.objects.limits import CLIENT_TIMEOUT
from tests.helpers.identity import login


def _serve_command(data_dir: Path, *extra: str, port: int = 0) -> list[str]:
    """`cloudimages localcloud serve` in a fresh interpreter on ``port`` with ``data_dir``."""
    return [
        sys.executable,
        "-m",
        "cloudimages.cli",
        "localcloud",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        *extra,
    ]


def _run_serve(data_dir: Path, *extra: str, port: int = 0) -> subprocess.CompletedProcess[str]:
    """Run a serve command that is expected to exit on its own; capture its output."""
    command = _serve_command(data_dir, *extra, port=port)
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


def _assert_usage_error(result: subprocess.CompletedProcess[str], says: str) -> None:
    """Exit code 2, ``says`` on stderr and no traceback: a usage error, not a crash."""
    assert result.returncode == 2
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def test_data_written_before_a_restart_is_read_back_byte_exact(tmp_path: Path) -> None:
    """Objects, metadata and tokens survive a stop and a start on the same data dir."""
    payload = os.urandom(3 * 1024 * 1024 + 17)
    with LocalCloud(LocalCloudSettings(data_dir=tmp_path)) as cloud:
        session = login(cloud.identity_url, "alice", "alice-api-key")
        files = session.endpoint("object-store", "IAD")
        assert httpx.put(f"{files}/keep", headers=session.headers).status_code == 201
        put = httpx.put(
            f"{files}/keep/disk.vhd",
            headers={**session.headers, "X-Object-Meta-Origin": "test"},
            content=payload,
        )
        assert put.status_code == 201
    with LocalCloud(LocalCloudSettings(data_dir=tmp_path)) as again:
        new_files = login(again.identity_url, "alice", "alice-api-key").endpoint(
            "object-store", "IAD"
        )
        old_token_headers = session.headers
        got = httpx.get(f"{new_files}/keep/disk.vhd", headers=old_token_headers)
        assert got.status_code == 200
        assert got.content == payload
        assert got.headers["etag"] == hashlib.md5(payload).hexdigest()
        assert got.headers["x-object-meta-origin"] == "test"


def test_stale_temp_files_are_swept_at_start(tmp_path: Path) -> None:
    """Bytes of an upload cut off by a crash never come back as an object."""
    with LocalCloud(LocalCloudSettings(data_dir=tmp_path)):
        pass
    leftovers = list((tmp_path / "blobs").glob("*/tmp"))
    assert leftovers
    (leftovers[0] / "deadbeef").write_bytes(b"half an upload")
    with LocalCloud(LocalCloudSettings(data_dir=tmp_path)):
        assert not (leftovers[0] / "deadbeef").exists()


def test_interrupted_upload_leaves_no_temp_file(cloud: LocalCloud) -> None:
    """A client that hangs up mid-body leaves neither an object nor bytes on disk."""
    session = login(cloud.identity_url, "alice", "alice-api-key")
    files = session.endpoint("object-store", "DFW")
    httpx.put(f"{files}/cut", headers=session.headers)
    url = httpx.URL(f"{files}/cut/partial.bin")
    tmp_dir = Path(cloud.settings.data_dir) / "blobs" / "dfw" / "tmp"
    before = set(tmp_dir.iterdir())  # other tests' uploads are not this test's business
    with socket.create_connection((url.host, url.port)) as sock:
        head = (
            f"PUT {url.raw_path.decode()} HTTP/1.1\r\nHost: {url.host}\r\n"
            f"X-Auth-Token: {session.token}\r\nContent-Length: 1000000\r\n\r\n"
        )
        sock.sendall(head.encode() + b"x" * 300_000)
    # Seen at once as a rule; a busy server may see the hang-up only at its own deadline
    # for a stalled body (it failed once at 15 s in a full run): the file must go either way.
    deadline = time.monotonic() + CLIENT_TIMEOUT + 15
    while set(tmp_dir.iterdir()) - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert set(tmp_dir.iterdir()) - before == set()
    assert httpx.head(f"{files}/cut/partial.bin", headers=session.headers).status_code == 404


def test_cli_serve_prints_identity_and_accounts(tmp_path: Path) -> None:
    """`cloudimages localcloud serve` prints where Identity is and who can log in."""
    command = _serve_command(tmp_path, "--account", "zed:zed-key:ORD")
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C stops" in line:
                break
        output = "".join(lines)
        match = re.search(r"Identity\s+(http://\S+/v2\.0)", output)
        assert match, output
        assert "alice-api-key" in output
        assert "zed-key" in output
        session = login(match.group(1), "zed", "zed-key")
        assert session.access["user"]["RAX-AUTH:defaultRegion"] == "ORD"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cli_serve_reports_a_busy_port_clearly(tmp_path: Path) -> None:
    """A port already taken is a one-line error naming the port, exit code 2."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _run_serve(tmp_path, port=port)
    _assert_usage_error(result, f"127.0.0.1:{port}")


@pytest.mark.parametrize("spec", ["nocolon", "a:"])
def test_cli_serve_rejects_malformed_accounts(tmp_path: Path, spec: str) -> None:
    """--account with a malformed value is a usage error, not a traceback."""
    result = _run_serve(tmp_path, "--account", spec)
    _assert_usage_error(result, "USERNAME:APIKEY")


def test_faults_set_at_runtime_through_the_admin_api(cloud: LocalCloud) -> None:
    """The admin account injects a 503 with Retry-After on one route; others are untouched."""
    admin = login(cloud.identity_url, "admin", "admin-api-key")
    alice = login(cloud.identity_url, "alice", "alice-api-key")
    admin_url = cloud.identity_url.removesuffix("/v2.0") + "/admin/faults"
    rule = {"service": "files:DFW", "method": "HEAD", "status": 503, "retry_after": 2, "times": 1}
    denied = httpx.post(admin_url, json=rule, headers=alice.headers)
    assert denied.status_code == 403
    created = httpx.post(admin_url, json=rule, headers=admin.headers)
    assert created.status_code == 201
    files = alice.endpoint("object-store", "DFW")
    first = httpx.head(files, headers=alice.headers)
    assert first.status_code == 503
    assert first.headers["retry-after"] == "2"
    assert httpx.head(files, headers=alice.headers).status_code == 204


def test_faults_given_at_start_apply_from_the_first_request(tmp_path: Path) -> None:
    """A fault spec in the settings (flag or env) is active as soon as the cloud starts."""
    settings = LocalCloudSettings(data_dir=tmp_path, faults="identity:POST:*=429,times=1")
    with LocalCloud(settings) as cloud:
        body = {
            "auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "bob", "apiKey": "bob-api-key"}}
        }
        assert httpx.post(f"{cloud.identity_url}/tokens", json=body).status_code == 429
        assert httpx.post(f"{cloud.identity_url}/tokens", json=body).status_code == 200


def test_cli_serve_rejects_a_malformed_fault_spec(tmp_path: Path) -> None:
    """--faults with a bad spec is a usage error naming what was wrong."""
    result = _run_serve(tmp_path, "--faults", "images:DFW=200")
    _assert_usage_error(result, "fault spec")
