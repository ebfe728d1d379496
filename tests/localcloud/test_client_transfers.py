"""The objects client's data path: memory bounded by the transfer budget, copies sharing reads.

Peak memory is measured in a fresh interpreter (``VmHWM`` of ``/proc/self/status``,
the process's own high-water mark) as the growth over the RSS just before the
transfer, so the bound does not depend on what the interpreter imported.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cloudimages.client import _budget, _copies
from cloudimages.client.objects import ObjectsClient, UploadOptions, UploadResult
from cloudimages.client.retry import RetryPolicy
from cloudimages.errors import ChecksumMismatch, NotFound
from cloudimages.localcloud import LocalCloud
from tests.helpers.objects import (
    Interrupted,
    MiB,
    empty_and_delete,
    file_hashes,
    random_file,
    scratch_container,
)
from tests.helpers.scripted_server import Faults
from tests.helpers.tokens import IdentityTokenSource

REPO = Path(__file__).resolve().parents[2]
FAST = UploadOptions(retry=RetryPolicy(attempts=2, base_delay=0, jitter=0))
#: What an upload or a copy may add to the RSS, whatever its size, segments or targets.
GROWTH_LIMIT = 48 * MiB

# Runs in a fresh interpreter; prints the RSS before the transfer and the peak after.
TRANSFER_SCRIPT = """
import json, sys, threading
from cloudimages.client.objects import ObjectsClient, UploadOptions
from tests.helpers.tokens import IdentityTokenSource

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024

identity_url, mode, path, container, segment = sys.argv[1:6]
targets = sys.argv[6:]
options = UploadOptions(segment_size=int(segment), concurrency=4)
alice = ObjectsClient(IdentityTokenSource(identity_url, "alice", "alice-api-key"),
                      region="DFW", options=options)
clients = [ObjectsClient(IdentityTokenSource(identity_url, user, user + "-api-key"),
                         region=region, options=options)
           for user, region in (t.split("@") for t in targets)]
alice.list_objects(container)  # log in and open a connection before measuring
before = status("VmRSS:")
if mode == "file":
    sizes = [alice.upload_file(path, container, "big.img").size]
elif mode == "url":
    sizes = [alice.upload_stream(path, container, "big.img").size]
else:
    sizes = []
    def copy(target):
        sizes.append(alice.copy_across(target, container, "big.img", container, "copy.img").size)
    threads = [threading.Thread(target=copy, args=(c,)) for c in clients]
    for t in threads: t.start()
    for t in threads: t.join()
print(json.dumps({"before": before, "peak": status("VmHWM:"), "sizes": sizes}))
"""


def run_transfer(cloud: LocalCloud, *args: str) -> tuple[int, list[int]]:
    """Run one transfer in a fresh interpreter; (peak RSS growth, sizes transferred)."""
    done = subprocess.run(
        [sys.executable, "-c", TRANSFER_SCRIPT, cloud.identity_url, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["peak"] - report["before"], report["sizes"]


def source_for(cloud: LocalCloud, username: str) -> IdentityTokenSource:
    return IdentityTokenSource(cloud.identity_url, username, f"{username}-api-key")


@pytest.fixture
def alice(cloud: LocalCloud) -> Iterator[ObjectsClient]:
    with ObjectsClient(source_for(cloud, "alice"), region="DFW", options=FAST) as client:
        yield client


@pytest.fixture
def container(alice: ObjectsClient) -> Iterator[str]:
    with scratch_container(alice, "xfer") as name:
        yield name


TARGETS = ["alice@IAD", "bob@DFW", "bob@IAD", "carol@ORD"]


@pytest.fixture
def targets(cloud: LocalCloud, container: str) -> Iterator[list[ObjectsClient]]:
    """Four other account/region pairs to copy into, each with the test's container."""
    pairs = [name.split("@") for name in TARGETS]
    clients = [ObjectsClient(source_for(cloud, u), region=r, options=FAST) for u, r in pairs]
    for client in clients:
        client.ensure_container(container)
    yield clients
    for client in clients:
        empty_and_delete(client, container)
        empty_and_delete(client, f"{container}_segments")
        client.close()


@pytest.fixture
def budget() -> Iterator[Callable[[int], _budget.BufferPool]]:
    """Set a transfer budget of N buffers for the test; the default comes back after."""
    saved = _budget.TRANSFER_BUFFERS

    def set_buffers(count: int) -> _budget.BufferPool:
        _budget.set_transfer_budget(count * _budget.DEFAULT_CHUNK)
        return _budget.TRANSFER_BUFFERS

    yield set_buffers
    _budget.TRANSFER_BUFFERS = saved


def in_parallel(*calls: Callable[[], object]) -> list[object]:
    """Run the calls in threads started together; their results, or the errors they raised."""
    results: list[object] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = calls[index]()
        except Exception as error:  # returned for the test to check
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


# memory ----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["file", "url"])
def test_upload_memory_does_not_grow_with_the_segment_size(
    cloud: LocalCloud, alice: ObjectsClient, container: str, tmp_path: Path, mode: str
) -> None:
    """256 MiB in two 128 MiB segments: whole segments in memory would need 256 MiB."""
    path = tmp_path / "big.img"
    with path.open("wb") as f:
        f.truncate(256 * MiB)
    if mode == "url":
        from tests.localcloud.test_client_objects import serve_directory

        with serve_directory(tmp_path) as base:
            growth, sizes = run_transfer(cloud, mode, f"{base}/big.img", container, str(128 * MiB))
    else:
        growth, sizes = run_transfer(cloud, mode, str(path), container, str(128 * MiB))
    print(f"\n{mode}: peak RSS growth {growth / MiB:.0f} MiB")
    assert sizes == [256 * MiB]
    assert alice.head_object(container, "big.img").large_object == "slo"
    assert growth < GROWTH_LIMIT


def test_copies_to_four_targets_stay_within_one_budget(
    cloud: LocalCloud,
    alice: ObjectsClient,
    container: str,
    targets: list[ObjectsClient],
    tmp_path: Path,
) -> None:
    """Four concurrent copies of 64 MiB in 16 MiB segments: each holding its own segments
    would need 4 × 5 × 16 MiB; they share one read of the source and one budget."""
    alice.upload_file(random_file(tmp_path / "big.img", 64 * MiB), container, "big.img")
    growth, sizes = run_transfer(cloud, "copy", "-", container, str(16 * MiB), *TARGETS)
    print(f"\ncopy to 4 targets: peak RSS growth {growth / MiB:.0f} MiB")
    assert sizes == [64 * MiB] * 4
    assert growth < GROWTH_LIMIT
    assert all(t.head_object(container, "copy.img").large_object == "slo" for t in targets)


# sharing, budget, resume, verification -------------------------------------------------------
def test_concurrent_copies_of_one_object_read_it_once(
    cloud: LocalCloud,
    alice: ObjectsClient,
    container: str,
    targets: list[ObjectsClient],
    faults: Faults,
    tmp_path: Path,
) -> None:
    """Four copies started together: one GET of the source, four verified SLOs."""
    path = random_file(tmp_path / "x.bin", 5 * MiB + 3)
    alice.upload_file(path, container, "x.bin", segment_size=8 * MiB)  # plain: one GET per read
    gets = faults.add(
        service="files:DFW", method="GET", path=f"*/{container}/x.bin", action="latency", delay=0.3
    )
    opened, joined = _copies.READS.opened, _copies.READS.joined
    results = in_parallel(*(_copy(alice, t, container, "x.bin", MiB) for t in targets))
    md5, sha = file_hashes(path)
    for result in results:
        assert isinstance(result, UploadResult), result
        assert (result.segments, result.md5, result.sha256) == (6, md5, sha)
    assert faults.fired(gets) == 1
    assert (_copies.READS.opened - opened, _copies.READS.joined - joined) == (1, 3)
    assert _copies._SHARED == {}  # the spool is gone with its last reader
    for target in targets:
        assert target.download(container, "y.bin", tmp_path / "y.bin").md5 == md5


def test_a_budget_of_two_buffers_slows_transfers_but_finishes_them(
    alice: ObjectsClient,
    container: str,
    targets: list[ObjectsClient],
    budget: Callable[[int], _budget.BufferPool],
    tmp_path: Path,
) -> None:
    """Three uploads (4 workers each) and two copies at once share two buffers."""
    pool = budget(2)
    paths = [random_file(tmp_path / f"f{i}", 6 * MiB + i) for i in range(3)]
    alice.upload_file(paths[0], container, "src", segment_size=MiB)
    calls: list[Callable[[], object]] = [
        lambda p=p: alice.upload_file(p, container, p.name, segment_size=MiB, concurrency=4)
        for p in paths
    ]
    calls += [_copy(alice, t, container, "src", MiB) for t in targets[:2]]
    results = in_parallel(*calls)
    assert all(isinstance(r, UploadResult) for r in results), results
    assert [r.md5 for r in results[:3]] == [file_hashes(p)[0] for p in paths]  # type: ignore[union-attr]
    assert pool.peak <= pool.slots == 2
    assert pool.in_use == 0


def test_a_copy_cut_short_resumes_with_the_segments_it_stored(
    alice: ObjectsClient, container: str, targets: list[ObjectsClient], tmp_path: Path
) -> None:
    """A copy stopped after three segments; the rerun sends only the rest."""
    path = random_file(tmp_path / "r.bin", 8 * MiB)
    alice.upload_file(path, container, "r.bin", segment_size=MiB)
    target = targets[0]

    def stop_at_3(done: int, total: int | None) -> None:
        if done >= 3 * MiB:
            raise Interrupted

    with pytest.raises(Interrupted):
        alice.copy_across(
            target,
            container,
            "r.bin",
            container,
            "r.bin",
            segment_size=MiB,
            progress=stop_at_3,
        )
    stored = target.list_objects(f"{container}_segments")
    assert 3 <= len(stored) < 8
    with pytest.raises(NotFound):
        target.head_object(container, "r.bin")
    result = alice.copy_across(target, container, "r.bin", container, "r.bin", segment_size=MiB)
    assert (result.segments, result.segments_skipped) == (8, len(stored))
    assert result.md5 == file_hashes(path)[0]
    assert _copies._SHARED == {}


def test_a_corrupted_source_fails_every_shared_copy_before_it_commits(
    cloud: LocalCloud,
    alice: ObjectsClient,
    container: str,
    targets: list[ObjectsClient],
    tmp_path: Path,
) -> None:
    """Bytes that no longer hash to the source's ETag: both copies refuse, none commits."""
    size = 3 * MiB + 12345
    alice.upload_file(random_file(tmp_path / "c.bin", size), container, "c.bin")
    blob = _blob_of_size(Path(cloud.settings.data_dir) / "blobs" / "dfw", size)
    with blob.open("r+b") as f:  # bit rot behind the server's back
        f.seek(size // 2)
        f.write(b"\xff" if f.read(1) != b"\xff" else b"\x00")
    results = in_parallel(*(_copy(alice, t, container, "c.bin", MiB) for t in targets[:2]))
    for result in results:
        assert isinstance(result, ChecksumMismatch), result
        assert "c.bin" in str(result)
    for target in targets[:2]:
        with pytest.raises(NotFound):
            target.head_object(container, "y.bin")


def test_a_file_that_shrinks_during_the_upload_is_refused(
    alice: ObjectsClient, container: str, tmp_path: Path
) -> None:
    """The workers read past the new end: ChecksumMismatch, and no object."""
    path = random_file(tmp_path / "s.bin", 4 * MiB)

    def shrink(done: int, total: int | None) -> None:
        os.truncate(path, MiB)

    with pytest.raises(ChecksumMismatch, match="changed"):
        alice.upload_file(
            path, container, "s.bin", segment_size=MiB, concurrency=1, progress=shrink
        )
    with pytest.raises(NotFound):
        alice.head_object(container, "s.bin")


def test_without_the_whole_file_md5_the_sha256_and_segment_etags_still_hold(
    cloud: LocalCloud, container: str, tmp_path: Path
) -> None:
    """``content_md5=False`` skips one hash pass: md5 is None, the rest is checked."""
    path = random_file(tmp_path / "lean.bin", 3 * MiB + 1)
    options = UploadOptions(content_md5=False, segment_size=MiB)
    with ObjectsClient(source_for(cloud, "alice"), region="DFW", options=options) as lean:
        result = lean.upload_file(path, container, "lean.bin")
        assert (result.md5, result.sha256, result.segments) == (None, file_hashes(path)[1], 4)
        assert lean.download(container, "lean.bin", tmp_path / "back").md5 == file_hashes(path)[0]


def test_an_empty_stream_is_an_empty_object(alice: ObjectsClient, container: str) -> None:
    """Nothing to spool: one plain PUT of zero bytes, with the md5 of nothing."""
    result = alice.upload_stream(io.BytesIO(b""), container, "empty")
    assert (result.size, result.manifest, result.md5) == (0, False, hashlib.md5(b"").hexdigest())
    assert alice.head_object(container, "empty").size == 0


# helpers ---------------------------------------------------------------------------------------
def _copy(
    source: ObjectsClient, target: ObjectsClient, container: str, name: str, segment: int
) -> Callable[[], UploadResult]:
    def copy() -> UploadResult:
        return source.copy_across(target, container, name, container, "y.bin", segment_size=segment)

    return copy


def _blob_of_size(root: Path, size: int) -> Path:
    found = [p for p in root.rglob("*") if p.is_file() and p.stat().st_size == size]
    assert len(found) == 1, found
    return found[0]
