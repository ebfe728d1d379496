"""import-image end to end against the local cloud: conversions, URLs, reruns."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import cast

import pytest
from prefect.artifacts import Artifact

from cloudimages.errors import NotFound
from cloudimages.reports import ImportReport
from tests.helpers.diskimages import make_qcow2, make_raw, make_vhd
from tests.pipelines.support import block, import_image


def images_with_sha(account: str, sha256: str) -> list[str]:
    client = block(account).images_client()
    found = client.list_images(properties={"cloudimages.source_sha256": sha256})
    return [image.id for image in found]


def staged_objects(sha256: str) -> list[str]:
    """Objects and segments left in alice's staging containers for this content."""
    names = []
    with block("alice").objects_client() as files:
        for container in ("cloudimages-staging", "cloudimages-staging_segments"):
            with contextlib.suppress(NotFound):
                names += [o.name for o in files.list_objects(container, prefix=sha256)]
    return names


def test_qcow2_is_converted_imported_and_verified(tmp_path: Path) -> None:
    """A qcow2 becomes an active image with provenance, properties and tags; staging is gone."""
    source = make_qcow2(tmp_path, "import-qcow2.qcow2")

    report = import_image(
        str(source),
        "alice",
        "from-qcow2",
        properties={"com.example.role": "web"},
        tags=["golden"],
    )

    assert isinstance(report, ImportReport)
    assert report.skipped is False
    assert report.converted is True
    assert report.region == "DFW"
    image = block("alice").images_client().get_image(report.image_id)
    assert image.status == "active"
    assert image.name == "from-qcow2"
    assert image.properties["cloudimages.source_sha256"] == report.sha256
    assert image.properties["cloudimages.source_name"] == "import-qcow2.qcow2"
    assert image.properties["com.example.role"] == "web"
    assert "golden" in image.tags
    assert report.checksum == image.checksum
    assert report.virtual_size == 4 * 1024 * 1024
    assert staged_objects(report.sha256) == []
    assert [s.name for s in report.steps][:2] == ["fetch", "inspect"]
    assert "alice-api-key" not in report.model_dump_json()  # the CLI's --json
    artifact = cast(Artifact | None, Artifact.get("cloudimages-import"))
    assert artifact is not None
    assert report.image_id in str(artifact.data)
    assert "alice-api-key" not in str(artifact.data)


def test_rerun_is_skipped_without_a_second_image(tmp_path: Path) -> None:
    """Importing the same content under the same name again reports skipped, same image."""
    source = make_raw(tmp_path, "import-rerun.raw")
    first = import_image(str(source), "alice", "rerun")

    second = import_image(str(source), "alice", "rerun")

    assert second.skipped is True
    assert second.image_id == first.image_id
    assert second.uploaded_segments == 0
    assert images_with_sha("alice", first.sha256) == [first.image_id]


def test_raw_with_small_segments_is_uploaded_as_an_slo(tmp_path: Path) -> None:
    """A raw disk is converted and uploaded in 1 MiB segments."""
    source = make_raw(tmp_path, "import-raw.raw", size=8 * 1024 * 1024)

    report = import_image(str(source), "alice", "from-raw", segment_size_mb=1)

    assert report.converted is True
    assert report.uploaded_segments >= 1
    assert report.skipped_segments == 0
    assert report.virtual_size == 8 * 1024 * 1024


@pytest.mark.parametrize("subformat", ["fixed", "dynamic"])
def test_vhd_is_uploaded_without_conversion(tmp_path: Path, subformat: str) -> None:
    """A fixed or dynamic VHD goes up as it is, and can be kept in staging."""
    source = make_vhd(tmp_path, subformat, f"import-{subformat}.vhd")  # type: ignore[arg-type]

    report = import_image(
        str(source), "alice", f"from-{subformat}-vhd", segment_size_mb=1, keep_staging=True
    )

    assert report.converted is False
    assert report.uploaded_size == source.stat().st_size
    with block("alice").objects_client() as files:
        kept = files.head_object("cloudimages-staging", f"{report.sha256}.vhd")
    assert kept.size == source.stat().st_size


def test_import_from_an_http_url(tmp_path: Path, http_files: tuple[Path, str]) -> None:
    """A URL is downloaded (hashed on the way) and imported; its name becomes the provenance."""
    served, base = http_files
    source = make_qcow2(served, "import-url.qcow2")

    report = import_image(f"{base}/import-url.qcow2", "alice", "from-url")

    assert report.skipped is False
    assert report.size == source.stat().st_size
    image = block("alice").images_client().get_image(report.image_id)
    assert image.properties["cloudimages.source_name"] == "import-url.qcow2"
