"""ObjectsClient against a real OpenStack Swift 2.38.3: the same scenarios as the local cloud.

Swift's tempauth stands in for Identity: a ``StaticTokenSource`` holds the storage URL
and token from ``auth_v1`` and logs in again when the client reports a 401.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudimages.client.objects import ObjectsClient, UploadOptions
from cloudimages.client.retry import RetryPolicy
from cloudimages.errors import Forbidden, NotFound
from tests.helpers import objects as scenarios
from tests.helpers.objects import scratch_container
from tests.helpers.tokens import StaticTokenSource

sys.path.insert(0, str(Path(__file__).resolve().parent))
from realswift import RealSwift

pytestmark = pytest.mark.slow

FAST = UploadOptions(retry=RetryPolicy(attempts=2, base_delay=0, jitter=0))
USERS = {"a": ("test:tester", "testing"), "b": ("test2:tester2", "testing2")}


def swift_source(swift: RealSwift, role: str) -> StaticTokenSource:
    user, key = USERS[role]
    storage_url, token = swift.auth_v1(user, key)
    return StaticTokenSource(storage_url, token, relogin=lambda: swift.auth_v1(user, key)[1])


@pytest.fixture
def source(real_swift: RealSwift) -> StaticTokenSource:
    return swift_source(real_swift, "a")


@pytest.fixture
def files(source: StaticTokenSource) -> Iterator[ObjectsClient]:
    with ObjectsClient(source, options=FAST) as client:
        yield client


@pytest.fixture
def other(real_swift: RealSwift) -> Iterator[ObjectsClient]:
    with ObjectsClient(swift_source(real_swift, "b"), options=FAST) as client:
        yield client


@pytest.fixture
def container(files: ObjectsClient) -> Iterator[str]:
    with scratch_container(files) as name:
        yield name


def test_small_upload(files: ObjectsClient, container: str, tmp_path: Path) -> None:
    """Content that fits one segment is one object whose ETag is its md5."""
    scenarios.check_small_upload(files, container, tmp_path)


def test_segmented_upload(files: ObjectsClient, container: str, tmp_path: Path) -> None:
    """Swift accepts our SLO manifest and reports the etag-of-etags we expect."""
    scenarios.check_segmented_upload(files, container, tmp_path)


def test_resume(files: ObjectsClient, container: str, tmp_path: Path) -> None:
    """A rerun skips the segments Swift already holds."""
    scenarios.check_resume(files, container, tmp_path)


def test_download(files: ObjectsClient, container: str, tmp_path: Path) -> None:
    """Plain objects verify by ETag, SLOs by their manifest's segment md5s."""
    scenarios.check_download(files, container, tmp_path)


def test_download_mismatch(files: ObjectsClient, container: str, tmp_path: Path) -> None:
    """A wrong expected md5 raises ChecksumMismatch and leaves no file."""
    scenarios.check_download_mismatch(files, container, tmp_path)


def test_copy_across_accounts(
    files: ObjectsClient, other: ObjectsClient, container: str, tmp_path: Path
) -> None:
    """Streamed copy into another account (no ACL needed): md5 checked end to end."""
    scenarios.check_copy_across(files, other, container, tmp_path)


def test_server_side_copy_needs_a_read_acl(
    files: ObjectsClient, other: ObjectsClient, container: str
) -> None:
    """X-Copy-From-Account is refused without X-Container-Read, accepted with it."""
    with scratch_container(other, "shared") as shared:
        other.upload_stream(io.BytesIO(b"shared bytes"), shared, "o", size=12)
        with pytest.raises(Forbidden):
            files.copy_object(shared, "o", container, "c", src_account=other.account)
        other.ensure_container(shared, read_acl=USERS["a"][0])
        info = files.copy_object(shared, "o", container, "c", src_account=other.account)
    assert info.size == 12


def test_delete_slo_with_segments(files: ObjectsClient, container: str, tmp_path: Path) -> None:
    """multipart-manifest=delete removes the manifest and its segments."""
    path = scenarios.random_file(tmp_path / "a", 3 * scenarios.MiB)
    files.upload_file(path, container, "a", segment_size=scenarios.MiB)
    assert files.delete_object(container, "a") == 4
    assert files.list_objects(f"{container}_segments") == []


def test_errors_and_reauthentication(
    files: ObjectsClient, source: StaticTokenSource, container: str
) -> None:
    """Missing names are NotFound; a refused token is renewed once and the call succeeds."""
    with pytest.raises(NotFound, match="no-such-container"):
        files.list_objects("no-such-container")
    with pytest.raises(NotFound, match="'ghost'"):
        files.head_object(container, "ghost")
    source.spoil()
    assert files.list_objects(container) == []
    assert source.logins == 2
