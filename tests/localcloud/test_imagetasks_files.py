"""How import and export tasks move bytes: links instead of copies, one read per digest."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from cloudimages import diskimage
from cloudimages.localcloud.imagetasks.files import (
    READ_SIZE,
    SourceRemoved,
    md5_of,
    read_range,
    stage,
)
from cloudimages.localcloud.objects.blobs import BlobStore
from cloudimages.localcloud.objects.largeobjects import Piece
from tests.helpers import diskimages
from tests.localcloud.test_imagetasks import (
    MIB,
    assert_no_leftovers,
    imported,
    task_cloud,
    unique,
)


class Stop(Exception):
    pass


def nothing() -> None:
    pass


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


def put(blobs: BlobStore, data: bytes) -> str:
    return blobs.write_bytes(data)[0]


def test_a_source_held_whole_in_one_blob_is_hard_linked(blobs: BlobStore, tmp_path: Path) -> None:
    """A plain object (or a one-segment large object) costs no copy: the staged file is the blob."""
    data = os.urandom(3 * READ_SIZE + 17)
    blob = put(blobs, data)
    target = tmp_path / "staged.vhd"
    stage(blobs, [Piece(blob, 0, len(data))], target, nothing)
    assert target.stat().st_ino == blobs.path(blob).stat().st_ino
    assert target.read_bytes() == data


def test_the_link_keeps_the_bytes_when_the_object_is_deleted(
    blobs: BlobStore, tmp_path: Path
) -> None:
    """Deleting the object after staging cannot take the bytes away from the task."""
    data = os.urandom(1000)
    blob = put(blobs, data)
    target = tmp_path / "staged.vhd"
    stage(blobs, [Piece(blob, 0, len(data))], target, nothing)
    blobs.delete(blob)
    assert target.read_bytes() == data


def test_pieces_are_joined_in_order_with_their_ranges(blobs: BlobStore, tmp_path: Path) -> None:
    """Segments (whole or ranged, as SLO ranges make them) are concatenated exactly."""
    parts = [os.urandom(n) for n in (READ_SIZE + 5, 4096, 3 * READ_SIZE)]
    ids = [put(blobs, part) for part in parts]
    pieces = [Piece(ids[0], 0, len(parts[0])), Piece(ids[1], 100, 300), Piece(ids[2], 7, 2 * MIB)]
    target = tmp_path / "staged.vhd"
    stage(blobs, pieces, target, nothing)
    assert target.read_bytes() == parts[0] + parts[1][100:300] + parts[2][7 : 2 * MIB]
    assert all(target.stat().st_ino != blobs.path(i).stat().st_ino for i in ids)


def test_part_of_one_blob_is_copied_not_linked(blobs: BlobStore, tmp_path: Path) -> None:
    """A link would carry bytes outside the range: a ranged single piece is copied."""
    data = os.urandom(10_000)
    blob = put(blobs, data)
    target = tmp_path / "staged.vhd"
    stage(blobs, [Piece(blob, 0, 9_000)], target, nothing)
    assert target.read_bytes() == data[:9_000]
    assert target.stat().st_ino != blobs.path(blob).stat().st_ino


@pytest.mark.parametrize("count", [1, 2])
def test_a_blob_deleted_before_staging_is_source_removed(
    blobs: BlobStore, tmp_path: Path, count: int
) -> None:
    """An object deleted between resolving and reading is a clear error, not a short file."""
    ids = [put(blobs, b"x" * 512) for _ in range(count)]
    blobs.delete(ids[-1])
    with pytest.raises(SourceRemoved):
        stage(blobs, [Piece(i, 0, 512) for i in ids], tmp_path / "staged.vhd", nothing)


def test_staging_stops_at_a_checkpoint(blobs: BlobStore, tmp_path: Path) -> None:
    """The engine's stop request is honoured between chunks of a copy."""
    ids = [put(blobs, os.urandom(1000)) for _ in range(2)]

    def stop() -> None:
        raise Stop

    with pytest.raises(Stop):
        stage(blobs, [Piece(i, 0, 1000) for i in ids], tmp_path / "staged.vhd", stop)


def test_md5_of_and_read_range_read_what_they_are_asked(tmp_path: Path) -> None:
    data = os.urandom(2 * READ_SIZE + 3)
    path = tmp_path / "file"
    path.write_bytes(data)
    assert md5_of(path, nothing) == (hashlib.md5(data).hexdigest(), len(data))
    with path.open("rb") as f:
        chunks = [bytes(c) for c in read_range(f, 5, READ_SIZE + 10, nothing)]
    assert b"".join(chunks) == data[5 : READ_SIZE + 15]
    assert max(len(c) for c in chunks) <= READ_SIZE


def test_an_export_that_fits_one_segment_is_one_segment_of_the_converted_disk(
    tmp_path: Path,
) -> None:
    """With the segment size above the VHD's size, the export is one segment and a manifest."""
    source = diskimages.make_vhd(tmp_path, "dynamic", "one-segment.vhd")
    with task_cloud(tmp_path / "cloud", export_segment_size=64 * MIB) as running:
        alice = running.alice
        task, _ = imported(alice, source)
        assert task["status"] == "success", task["message"]
        image_id = task["result"]["image_id"]
        container = unique("exports")
        alice.put(container)
        task = alice.run("export", {"image_uuid": image_id, "receiving_swift_container": container})
        assert task["status"] == "success", task["message"]
        assert alice.names(container) == [f"{image_id}.vhd", f"{image_id}.vhd-00001"]
        segment = alice.fetch(f"{container}/{image_id}.vhd-00001")
        assert segment.headers["etag"] == hashlib.md5(segment.content).hexdigest()
        whole = alice.fetch(f"{container}/{image_id}.vhd").content
        assert whole == segment.content
        exported = tmp_path / "exported.vhd"
        exported.write_bytes(whole)
        assert diskimage.compare(exported, source, fmt_a="vpc", fmt_b="vpc")
        assert_no_leftovers(running)
