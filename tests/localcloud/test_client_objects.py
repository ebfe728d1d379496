"""ObjectsClient against the local cloud over real HTTP: uploads, resume, copies, errors."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from cloudimages.client.objects import ObjectsClient, UploadOptions
from cloudimages.client.retry import RetryPolicy
from cloudimages.errors import (
    ChecksumMismatch,
    Conflict,
    Forbidden,
    NotFound,
    TransportError,
    Unauthorized,
)
from cloudimages.localcloud import LocalCloud
from tests.helpers import objects as scenarios
from tests.helpers.objects import MiB, file_hashes, random_file, scratch_container
from tests.helpers.tokens import IdentityTokenSource

FAST = UploadOptions(retry=RetryPolicy(attempts=2, base_delay=0, jitter=0))


def source_for(cloud: LocalCloud, username: str) -> IdentityTokenSource:
    return IdentityTokenSource(cloud.identity_url, username, f"{username}-api-key")


@pytest.fixture
def alice_source(cloud: LocalCloud) -> IdentityTokenSource:
    return source_for(cloud, "alice")


@pytest.fixture
def files(alice_source: IdentityTokenSource) -> Iterator[ObjectsClient]:
    with ObjectsClient(alice_source, region="DFW", options=FAST) as client:
        yield client


@pytest.fixture
def container(files: ObjectsClient) -> Iterator[str]:
    with scratch_container(files) as name:
        yield name


# uploads ---------------------------------------------------------------------------
def test_small_upload_is_one_object_with_both_hashes(
    files: ObjectsClient, container: str, tmp_path: Path
) -> None:
    """Content that fits one segment is stored plainly; md5, sha256 and ETag agree."""
    scenarios.check_small_upload(files, container, tmp_path)


def test_big_upload_is_a_parallel_slo_with_checked_segments(
    files: ObjectsClient, container: str, tmp_path: Path
) -> None:
    """Bigger content becomes an SLO in <container>_segments, named by size and index."""
    scenarios.check_segmented_upload(files, container, tmp_path)


def test_rerun_after_an_interruption_sends_only_missing_segments(
    files: ObjectsClient, container: str, tmp_path: Path
) -> None:
    """An upload stopped half way resumes: stored segments are skipped, not re-sent."""
    scenarios.check_resume(files, container, tmp_path)


def test_upload_stream_from_a_file_object_of_unknown_size(
    files: ObjectsClient, container: str
) -> None:
    """A binary stream without a size is cut into segments as it is read."""
    data = random_bytes(2 * MiB + 100)
    result = files.upload_stream(io.BytesIO(data), container, "s.bin", segment_size=MiB)
    assert (result.manifest, result.segments, result.size) == (True, 3, len(data))
    assert result.md5 == hashlib.md5(data, usedforsecurity=False).hexdigest()
    names = [o.name for o in files.list_objects(f"{container}_segments")]
    assert names[0] == f"s.bin/slo/stream/{MiB}/00000000"


def test_upload_stream_from_an_http_url(
    files: ObjectsClient, container: str, tmp_path: Path
) -> None:
    """An http URL is streamed with its Content-Length and uploaded as an SLO."""
    path = random_file(tmp_path / "served.bin", 2 * MiB + 1)
    with serve_directory(tmp_path) as base:
        result = files.upload_stream(f"{base}/served.bin", container, "u.bin", segment_size=MiB)
    assert (result.segments, result.size, result.md5) == (3, 2 * MiB + 1, file_hashes(path)[0])


def test_upload_stream_from_a_missing_url_is_not_found(
    files: ObjectsClient, container: str, tmp_path: Path
) -> None:
    """A 404 from the source URL is our NotFound naming the URL."""
    with serve_directory(tmp_path) as base, pytest.raises(NotFound, match=r"nothing\.bin"):
        files.upload_stream(f"{base}/nothing.bin", container, "u.bin")


def test_segment_size_grows_to_keep_at_most_1000_segments() -> None:
    """1 MiB segments for 2000 MiB would be 2000 segments, so 2 MiB are chosen."""
    from cloudimages.client._segments import choose_segment_size

    assert choose_segment_size(MiB, 2000 * MiB) == 2 * MiB
    assert choose_segment_size(1, 10) == MiB
    assert choose_segment_size(64 * MiB, 3 * 1024 * MiB) == 64 * MiB


# deletes ---------------------------------------------------------------------------
def test_delete_slo_removes_its_segments(
    files: ObjectsClient, container: str, tmp_path: Path
) -> None:
    """Deleting an SLO removes the manifest and every segment."""
    files.upload_file(random_file(tmp_path / "a", 3 * MiB), container, "a", segment_size=MiB)
    assert files.delete_object(container, "a") == 4
    assert files.list_objects(f"{container}_segments") == []
    with pytest.raises(NotFound):
        files.head_object(container, "a")


def test_delete_dlo_removes_its_segments(
    files: ObjectsClient, container: str, alice_source: IdentityTokenSource, tmp_path: Path
) -> None:
    """Deleting a DLO removes the manifest and the objects under its prefix."""
    headers = {"X-Auth-Token": alice_source.token()}
    base = files.endpoint
    for i in range(3):
        httpx.put(f"{base}/{container}/parts/{i:03d}", headers=headers, content=b"p" * 1000)
    manifest = {**headers, "X-Object-Manifest": f"{container}/parts/"}
    assert httpx.put(f"{base}/{container}/whole", headers=manifest).status_code == 201
    assert files.head_object(container, "whole").large_object == "dlo"
    got = files.download(container, "whole", tmp_path / "whole")
    assert (got.size, got.verified_by) == (3000, None)
    assert files.delete_object(container, "whole") == 4
    assert files.list_objects(container) == []


def test_delete_missing_object_is_not_found_or_quiet(files: ObjectsClient, container: str) -> None:
    """A missing object raises NotFound, or returns 0 with missing_ok."""
    with pytest.raises(NotFound, match=f"'ghost' in container '{container}'"):
        files.delete_object(container, "ghost")
    assert files.delete_object(container, "ghost", missing_ok=True) == 0


# copies ----------------------------------------------------------------------------
def test_server_side_copy_from_another_account_with_an_acl(
    cloud: LocalCloud, files: ObjectsClient, container: str
) -> None:
    """Alice copies Bob's object server-side once Bob's container grants her read."""
    bob_source = source_for(cloud, "bob")
    with (
        ObjectsClient(bob_source, region="DFW", options=FAST) as bob,
        scratch_container(bob, "shared") as shared,
    ):
        data = random_bytes(50_000)
        bob.upload_stream(io.BytesIO(data), shared, "o.bin", size=len(data))
        with pytest.raises(Forbidden, match="X-Container-Read"):
            files.copy_object(shared, "o.bin", container, "c.bin", src_account=bob.account)
        bob.ensure_container(shared, read_acl="alice")
        info = files.copy_object(shared, "o.bin", container, "c.bin", src_account=bob.account)
    assert info.etag == hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_copy_across_regions_streams_and_checks_md5(
    files: ObjectsClient, alice_source: IdentityTokenSource, container: str, tmp_path: Path
) -> None:
    """DFW → IAD: the bytes are re-uploaded as an SLO and match end to end."""
    with ObjectsClient(alice_source, region="IAD", options=FAST) as iad:
        scenarios.check_copy_across(files, iad, container, tmp_path)


# downloads -------------------------------------------------------------------------
def test_download_verifies_plain_and_slo_objects(
    files: ObjectsClient, container: str, tmp_path: Path
) -> None:
    """A plain object is checked against its ETag, an SLO against its segment md5s."""
    scenarios.check_download(files, container, tmp_path)


def test_download_with_a_wrong_expected_md5_leaves_no_file(
    files: ObjectsClient, container: str, tmp_path: Path
) -> None:
    """A mismatch raises ChecksumMismatch and removes the temp file."""
    scenarios.check_download_mismatch(files, container, tmp_path)


def test_changed_slo_segment_is_refused(
    files: ObjectsClient, container: str, tmp_path: Path, alice_source: IdentityTokenSource
) -> None:
    """Overwriting a segment breaks the SLO: the download fails instead of lying."""
    files.upload_file(random_file(tmp_path / "z", 2 * MiB), container, "z", segment_size=MiB)
    segment = f"{files.endpoint}/{container}_segments/z/slo/{2 * MiB}/{MiB}/00000001"
    headers = {"X-Auth-Token": alice_source.token()}
    assert httpx.put(segment, headers=headers, content=b"\0" * MiB).status_code == 201
    with pytest.raises((Conflict, ChecksumMismatch)):
        files.download(container, "z", tmp_path / "z.out")
    assert not (tmp_path / "z.out").exists()


# errors ----------------------------------------------------------------------------
def test_upload_to_a_missing_container_is_not_found(files: ObjectsClient, tmp_path: Path) -> None:
    """The message names the container and says how to create it."""
    path = random_file(tmp_path / "f", 10)
    with pytest.raises(NotFound, match=r"'no-such-container'.*ensure_container") as caught:
        files.upload_file(path, "no-such-container", "f")
    assert caught.value.status_code == 404


def test_head_of_a_missing_object_is_not_found(files: ObjectsClient, container: str) -> None:
    """The message names the object and the container."""
    with pytest.raises(NotFound, match=f"object 'nope' in container '{container}'"):
        files.head_object(container, "nope")


def test_expired_token_is_renewed_once(
    files: ObjectsClient, alice_source: IdentityTokenSource, container: str
) -> None:
    """A 401 makes the client log in again and retry the call."""
    logins = alice_source.logins
    alice_source.spoil()
    assert files.list_objects(container) == []
    assert alice_source.logins == logins + 1


def test_refused_credentials_are_unauthorized(cloud: LocalCloud) -> None:
    """A token the service keeps refusing ends in Unauthorized, not a loop."""
    source = StuckTokenSource(source_for(cloud, "alice").endpoint("object-store", "DFW"))
    with ObjectsClient(source, options=FAST) as client, pytest.raises(Unauthorized):
        client.list_objects("anything")
    assert source.reauthentications == 1


def test_deleting_a_non_empty_container_is_a_conflict(files: ObjectsClient, container: str) -> None:
    """409 maps to Conflict with advice."""
    files.upload_stream(io.BytesIO(b"x"), container, "x", size=1)
    with pytest.raises(Conflict, match=container):
        files.delete_container(container)


def test_unreachable_endpoint_is_a_transport_error() -> None:
    """A refused connection maps to TransportError after the retries."""
    source = StuckTokenSource("http://127.0.0.1:9/v1/AUTH_nobody")
    with ObjectsClient(source, options=FAST) as client, pytest.raises(TransportError):
        client.head_object("c", "o")


# helpers ---------------------------------------------------------------------------
class StuckTokenSource:
    """A token source whose token is never accepted."""

    def __init__(self, endpoint: str) -> None:
        self._endpoint = endpoint
        self.reauthentications = 0

    def token(self) -> str:
        return "refused-token"

    def reauthenticate(self, stale: str | None = None) -> str:
        self.reauthentications += 1
        return "refused-token"

    def endpoint(self, service_type: str, region: str | None = None) -> str:
        return self._endpoint


def random_bytes(size: int) -> bytes:
    return os.urandom(size)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """A plain http.server for ``directory`` on 127.0.0.1; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
