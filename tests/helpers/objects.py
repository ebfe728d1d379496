"""Object-store scenarios shared by the local-cloud and the real-Swift client tests.

Each ``check_*`` runs one behaviour of ``ObjectsClient`` end to end against whatever
server the client points at, and asserts it; the test modules only pick the server.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cloudimages.client.objects import ObjectsClient
from cloudimages.errors import ChecksumMismatch, NotFound

MiB = 1024 * 1024


class Interrupted(Exception):
    """Raised by a progress callback to stop an upload half way."""


def random_file(path: Path, size: int) -> Path:
    """A file of ``size`` random bytes."""
    with path.open("wb") as out:
        left = size
        while left:
            chunk = os.urandom(min(left, 4 * MiB))
            out.write(chunk)
            left -= len(chunk)
    return path


def file_hashes(path: Path) -> tuple[str, str]:
    """(md5, sha256) of a file, computed independently of the client."""
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(4 * MiB):
            md5.update(chunk)
            sha.update(chunk)
    return md5.hexdigest(), sha.hexdigest()


@contextmanager
def scratch_container(files: ObjectsClient, stem: str = "t") -> Iterator[str]:
    """A fresh container (and its ``_segments`` twin) removed with everything in it."""
    name = f"{stem}-{uuid.uuid4().hex[:10]}"
    files.ensure_container(name)
    try:
        yield name
    finally:
        empty_and_delete(files, name)
        empty_and_delete(files, f"{name}_segments")


def empty_and_delete(files: ObjectsClient, container: str) -> None:
    """Delete every object of a container, then the container; quiet if it is missing."""
    try:
        listing = files.list_objects(container)
    except NotFound:
        return
    for item in listing:
        files.delete_object(container, item.name, missing_ok=True)
    files.delete_container(container, missing_ok=True)


def check_small_upload(files: ObjectsClient, container: str, tmp_path: Path) -> None:
    path = random_file(tmp_path / "small.bin", 300 * 1024)
    md5, sha = file_hashes(path)
    result = files.upload_file(path, container, "small.bin", metadata={"origin": "test"})
    assert (result.manifest, result.segments, result.size) == (False, 0, 300 * 1024)
    assert (result.md5, result.sha256, result.etag) == (md5, sha, md5)
    info = files.head_object(container, "small.bin")
    assert (info.etag, info.large_object, info.metadata) == (md5, None, {"origin": "test"})


def check_segmented_upload(files: ObjectsClient, container: str, tmp_path: Path) -> None:
    size = 5 * MiB + 12345
    path = random_file(tmp_path / "big.bin", size)
    md5, sha = file_hashes(path)
    seen: list[tuple[int, int | None]] = []
    result = files.upload_file(
        path,
        container,
        "disk.vhd",
        segment_size=MiB,
        concurrency=3,
        progress=lambda done, total: seen.append((done, total)),
        metadata={"kind": "vhd"},
    )
    assert (result.manifest, result.segments, result.segments_uploaded) == (True, 6, 6)
    assert (result.segments_skipped, result.size, result.md5, result.sha256) == (0, size, md5, sha)
    segments = files.list_objects(f"{container}_segments", prefix="disk.vhd/")
    names = [s.name for s in segments]
    assert names == [f"disk.vhd/slo/{size}/{MiB}/{i:08d}" for i in range(6)]
    etags = "".join(s.etag for s in segments)
    assert result.etag == hashlib.md5(etags.encode(), usedforsecurity=False).hexdigest()
    info = files.head_object(container, "disk.vhd")
    assert (info.large_object, info.etag.strip('"'), info.metadata) == (
        "slo",
        result.etag,
        {"kind": "vhd"},
    )
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1] == (size, size)


def check_resume(files: ObjectsClient, container: str, tmp_path: Path) -> None:
    size = 8 * MiB
    path = random_file(tmp_path / "resume.bin", size)

    def stop_after_three(done: int, total: int | None) -> None:
        if done >= 3 * MiB:
            raise Interrupted

    with pytest.raises(Interrupted):
        files.upload_file(
            path, container, "r.bin", segment_size=MiB, concurrency=2, progress=stop_after_three
        )
    stored = files.list_objects(f"{container}_segments", prefix="r.bin/")
    assert 3 <= len(stored) < 8
    with pytest.raises(NotFound):
        files.head_object(container, "r.bin")
    result = files.upload_file(path, container, "r.bin", segment_size=MiB, concurrency=2)
    assert (result.segments, result.segments_skipped) == (8, len(stored))
    assert result.segments_uploaded == 8 - len(stored)
    again = {s.name: s.last_modified for s in files.list_objects(f"{container}_segments")}
    assert all(again[s.name] == s.last_modified for s in stored)  # not rewritten
    assert result.md5 == file_hashes(path)[0]


def check_download(files: ObjectsClient, container: str, tmp_path: Path) -> None:
    small = random_file(tmp_path / "d-small.bin", 200 * 1024)
    big = random_file(tmp_path / "d-big.bin", 3 * MiB + 7)
    files.upload_file(small, container, "small")
    files.upload_file(big, container, "big", segment_size=MiB)
    got = files.download(container, "small", tmp_path / "out-small")
    assert (got.verified_by, got.md5, got.sha256) == ("etag", *file_hashes(small))
    got = files.download(container, "big", tmp_path / "out-big")
    assert (got.verified_by, got.size, got.md5) == ("segments", 3 * MiB + 7, file_hashes(big)[0])
    assert (tmp_path / "out-big").read_bytes() == big.read_bytes()


def check_download_mismatch(files: ObjectsClient, container: str, tmp_path: Path) -> None:
    path = random_file(tmp_path / "m.bin", 64 * 1024)
    files.upload_file(path, container, "m.bin")
    dest = tmp_path / "dl" / "m.bin"
    dest.parent.mkdir()
    with pytest.raises(ChecksumMismatch) as caught:
        files.download(container, "m.bin", dest, expected_md5="0" * 32)
    assert caught.value.expected == "0" * 32
    assert caught.value.actual == file_hashes(path)[0]
    assert "m.bin" in str(caught.value)
    assert list(dest.parent.iterdir()) == []  # no file, no temp file left behind


def check_copy_across(
    source: ObjectsClient, target: ObjectsClient, container: str, tmp_path: Path
) -> None:
    path = random_file(tmp_path / "x.bin", 3 * MiB + 5)
    md5, sha = file_hashes(path)
    source.upload_file(path, container, "x.bin", segment_size=MiB, metadata={"k": "v"})
    with scratch_container(target, "across") as dst:
        result = source.copy_across(target, container, "x.bin", dst, "y.bin", segment_size=MiB)
        assert (result.manifest, result.segments, result.md5, result.sha256) == (
            True,
            4,
            md5,
            sha,
        )
        got = target.download(dst, "y.bin", tmp_path / "y.bin")
        assert (got.md5, got.verified_by) == (md5, "segments")
        assert target.head_object(dst, "y.bin").metadata == {"k": "v"}
