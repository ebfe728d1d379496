"""Stock python-swiftclient (SwiftService, the `swift` CLI) works unchanged with preauth."""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys
from pathlib import Path

import pytest
from swiftclient.service import (  # type: ignore[import-untyped]
    SwiftService,
    SwiftUploadObject,
)
from targets import ObjectStoreTarget

MIB = 1024 * 1024
SWIFT_CLI = Path(sys.executable).with_name("swift")


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    """A 3.5 MiB file of reproducible random bytes."""
    path = tmp_path / "image.vhd"
    path.write_bytes(random.Random(7).randbytes(7 * MIB // 2))
    return path


def _service(target: ObjectStoreTarget) -> SwiftService:
    return SwiftService(
        options={"os_auth_token": target.a.token, "os_storage_url": target.a.storage_url}
    )


def _upload(target: ObjectStoreTarget, container: str, path: Path, **options: object) -> None:
    target.adopt(target.a, f"{container}_segments")
    with _service(target) as swift:
        results = list(
            swift.upload(
                container,
                [SwiftUploadObject(str(path), object_name=path.name)],
                options={"segment_size": MIB, **options},
            )
        )
    failures = [r for r in results if not r["success"]]
    assert failures == []


def _download_md5(target: ObjectStoreTarget, container: str, name: str, out: Path) -> str:
    with _service(target) as swift:
        (result,) = swift.download(
            container, [name], options={"out_directory": str(out), "checksum": True}
        )
    assert result["success"], result.get("error")
    return hashlib.md5((out / name).read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("options", "header", "value"),
    [
        ({"use_slo": True}, "X-Static-Large-Object", "True"),
        ({"use_slo": False}, "X-Object-Manifest", None),
    ],
    ids=["slo", "dlo"],
)
def test_segmented_upload_and_download(
    target: ObjectStoreTarget,
    big_file: Path,
    tmp_path: Path,
    options: dict[str, object],
    header: str,
    value: str | None,
) -> None:
    """SwiftService uploads 3.5 MiB as 1 MiB segments (SLO, or DLO with use_slo=False) intact."""
    container = target.container()
    _upload(target, container, big_file, **options)
    head = target.http.head(target.a.url(container, big_file.name), headers=target.a.auth)
    segments = target.http.get(
        target.a.url(f"{container}_segments"), headers=target.a.auth, params={"format": "json"}
    )
    md5 = _download_md5(target, container, big_file.name, tmp_path / "out")
    assert head.status_code == 200
    assert head.headers["Content-Length"] == str(big_file.stat().st_size)
    assert head.headers[header] == (value or head.headers[header])
    assert head.headers["Etag"].startswith('"')
    assert [e["bytes"] for e in segments.json()] == [MIB, MIB, MIB, MIB // 2]
    assert md5 == hashlib.md5(big_file.read_bytes()).hexdigest()


def test_plain_upload_and_stat(target: ObjectStoreTarget, tmp_path: Path) -> None:
    """A small file uploads as one object whose Etag is its md5, and stat reports it."""
    container = target.container()
    small = tmp_path / "small.txt"
    small.write_bytes(b"small file")
    _upload(target, container, small)
    with _service(target) as swift:
        (stat,) = swift.stat(container, [small.name])
    assert stat["success"]
    assert stat["headers"]["etag"] == hashlib.md5(b"small file").hexdigest()
    assert stat["headers"]["content-length"] == "10"


def _cli(target: ObjectStoreTarget, *args: str, cwd: Path) -> str:
    preauth = ["--os-auth-token", target.a.token, "--os-storage-url", target.a.storage_url]
    done = subprocess.run(
        [str(SWIFT_CLI), *preauth, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_swift_cli_round_trip(target: ObjectStoreTarget, big_file: Path, tmp_path: Path) -> None:
    """`swift` upload (segmented), list, stat, download and delete all succeed with preauth."""
    container = target.container()
    target.adopt(target.a, f"{container}_segments")
    work = big_file.parent
    _cli(target, "upload", "--segment-size", "1M", container, big_file.name, cwd=work)
    listing = _cli(target, "list", container, cwd=work)
    stat = _cli(target, "stat", container, big_file.name, cwd=work)
    out = tmp_path / "download"
    out.mkdir()
    _cli(target, "download", container, big_file.name, cwd=out)
    _cli(target, "delete", container, big_file.name, cwd=work)
    after = _cli(target, "list", container, cwd=work)
    segments = target.http.get(target.a.url(f"{container}_segments"), headers=target.a.auth)
    assert listing.split() == [big_file.name]
    assert "Content Length: 3670016" in stat
    assert "Manifest:" in stat or "Static Large Object" in stat or "ETag:" in stat
    assert (out / big_file.name).read_bytes() == big_file.read_bytes()
    assert after.split() == []
    assert segments.status_code == 204


def test_swift_cli_account_stat(target: ObjectStoreTarget, tmp_path: Path) -> None:
    """`swift stat` on the account names it and reports its containers."""
    target.container()
    out = _cli(target, "stat", cwd=tmp_path)
    assert f"Account: {target.a.account}" in out
    assert "Containers:" in out
