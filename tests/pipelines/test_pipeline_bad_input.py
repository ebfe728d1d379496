"""Bad input: one clear error each, of our types, with a message that says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudimages.errors import (
    ConfigurationError,
    DiskImageError,
    NotFound,
    TaskFailed,
    Unauthorized,
)
from cloudimages.localcloud import LocalCloud
from tests.helpers.diskimages import (
    make_corrupt_qcow2,
    make_not_an_image,
    make_qcow2,
    make_qcow2_with_backing,
    make_raw,
)
from tests.pipelines.support import (
    cloud_settings,
    export_image,
    import_image,
    replicate_image,
    share_image,
)

MISSING_IMAGE = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def alices_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    source = make_qcow2(tmp_path_factory.mktemp("bad-input"), "bad-input-src.qcow2")
    return import_image(str(source), "alice", "bad-input-src").image_id


def test_missing_file(tmp_path: Path) -> None:
    """A path that does not exist is refused before anything is uploaded."""
    with pytest.raises(DiskImageError, match="does not exist"):
        import_image(str(tmp_path / "nope.qcow2"), "alice", "missing")


def test_not_a_disk_image(tmp_path: Path) -> None:
    """A text file is not taken for a raw disk."""
    with pytest.raises(DiskImageError, match="is not a disk image"):
        import_image(str(make_not_an_image(tmp_path)), "alice", "text")


def test_corrupt_qcow2(tmp_path: Path) -> None:
    """qemu-img check's corruptions stop the import, with how to repair."""
    with pytest.raises(DiskImageError, match="corrupt qcow2"):
        import_image(str(make_corrupt_qcow2(tmp_path)), "alice", "corrupt")


def test_backing_file(tmp_path: Path) -> None:
    """An overlay with a backing file is refused, with how to flatten it."""
    with pytest.raises(DiskImageError, match="has a backing file"):
        import_image(str(make_qcow2_with_backing(tmp_path)), "alice", "overlay")


def test_too_large(tmp_path: Path, cloud: LocalCloud) -> None:
    """The service's size limit fails the import task with code 609, explained."""
    source = make_raw(tmp_path, "too-large.raw", size=4 * 1024 * 1024)
    with (
        cloud_settings(cloud, import_size_limit=1024 * 1024),
        pytest.raises(TaskFailed, match="larger than the import limit") as caught,
    ):
        import_image(str(source), "alice", "too-large")
    assert caught.value.code == "609"


def test_unknown_block_name(tmp_path: Path) -> None:
    """A block name nobody saved says how to create it."""
    with pytest.raises(ConfigurationError, match="cloudimages accounts add nobody"):
        import_image(str(make_raw(tmp_path, "unknown-block.raw")), "nobody", "x")


def test_wrong_api_key(tmp_path: Path) -> None:
    """A block with a wrong API key fails at login."""
    with pytest.raises(Unauthorized):
        import_image(str(make_raw(tmp_path, "wrong-key.raw")), "alice-bad-key", "x")


def test_image_not_found() -> None:
    """Exporting an image that does not exist names it."""
    with pytest.raises(NotFound, match=MISSING_IMAGE):
        export_image(MISSING_IMAGE, "alice", "exports")


def test_invalid_container_name(alices_image: str) -> None:
    """An export container with a dot is refused before anything is created."""
    with pytest.raises(ConfigurationError, match="cannot receive exports"):
        export_image(alices_image, "alice", "bad.name")


def test_sharing_with_yourself(alices_image: str) -> None:
    """The owner cannot be a consumer of its own image."""
    with pytest.raises(ConfigurationError, match="logs in as the image's owner"):
        share_image(alices_image, "alice", ["alice"])


def test_replicating_to_the_same_account(alices_image: str) -> None:
    """Same account and region is not a target."""
    with pytest.raises(ConfigurationError, match="replicating to the same account"):
        replicate_image(alices_image, "alice", ["alice"])


def test_forbidden_property_key(tmp_path: Path) -> None:
    """Properties in the service's reserved namespaces are refused up front."""
    with pytest.raises(ConfigurationError, match="reserves"):
        import_image(
            str(make_raw(tmp_path, "reserved.raw")),
            "alice",
            "reserved",
            properties={"com.rackspace__1__options": "0"},
        )
