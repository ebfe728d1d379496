"""The pipelines on the upstream-OpenStack dialect (the local cloud's Keystone v3 regions).

Import, export, share and replicate with OpenStack account blocks, and across
dialects: Rackspace (DFW) → private cloud (RegionOne) and back, each copy's disk
content compared with the source by ``qemu-img compare``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from cloudimages import diskimage
from cloudimages.errors import ConfigurationError, DiskImageError, Forbidden, TaskFailed
from tests.helpers.diskimages import make_qcow2, make_raw, make_vhd
from tests.pipelines.support import (
    block,
    export_image,
    import_image,
    openstack,
    replicate_image,
    share_image,
)


def same_disk(account: str, image_id: str, source: Path, tmp_path: Path) -> None:
    """Download the image from its account and qemu-img compare it with ``source``."""
    dest = tmp_path / f"{image_id}.download"
    container = None if account.startswith("os-") else "compare-exports"  # Rackspace: an export
    export_image(image_id, account, container, download_to=str(dest))
    got = diskimage.inspect_image(dest).format
    want = diskimage.inspect_image(source).format
    assert diskimage.compare(dest, source, fmt_a=got, fmt_b=want)


def test_a_qcow2_is_imported_as_it_is_and_a_rerun_is_skipped(tmp_path: Path) -> None:
    """qcow2 is a format Glance takes: uploaded unconverted; the image carries provenance."""
    source = make_qcow2(tmp_path, "os-import.qcow2")

    report = import_image(str(source), "os-user1", "os-import")
    again = import_image(str(source), "os-user1", "os-import")

    assert (report.disk_format, report.converted, report.skipped) == ("qcow2", False, False)
    image = openstack("os-user1").cloud().images.get_image(report.image_id)
    assert (image.status, image.disk_format) == ("active", "qcow2")
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    assert image.properties["cloudimages.source_sha256"] == sha
    assert (again.skipped, again.image_id) == (True, report.image_id)
    same_disk("os-user1", report.image_id, source, tmp_path)


def test_a_raw_disk_is_converted_to_qcow2_unless_asked_otherwise(tmp_path: Path) -> None:
    """raw travels better as qcow2; --disk-format raw keeps it raw."""
    source = make_raw(tmp_path, "os-raw.raw")

    converted = import_image(str(source), "os-user1", "os-raw-qcow2")
    kept = import_image(str(source), "os-user1", "os-raw-raw", disk_format="raw")

    assert (converted.disk_format, converted.converted) == ("qcow2", True)
    assert (kept.disk_format, kept.converted) == ("raw", False)
    same_disk("os-user1", kept.image_id, source, tmp_path)


def test_a_format_the_cloud_does_not_take_is_refused_before_anything_is_made(
    tmp_path: Path,
) -> None:
    """RegionTwo takes raw and qcow2: vmdk is refused, naming both, with nothing created."""
    source = make_qcow2(tmp_path, "os-vmdk.qcow2")

    with pytest.raises(DiskImageError, match="it takes raw, qcow2"):
        import_image(str(source), "os-strict", "os-vmdk", disk_format="vmdk")

    names = [i.name for i in openstack("os-strict").cloud().images.list_images()]
    assert "os-vmdk" not in names


def test_over_the_storage_quota_fails_cleanly_and_deletes_the_record(tmp_path: Path) -> None:
    """RegionTwo's 4 MiB quota: the import fails saying so, and no half-made image stays."""
    source = make_raw(tmp_path, "os-big.raw", size=16 * 1024 * 1024)

    with pytest.raises(TaskFailed, match="storage quota"):
        import_image(str(source), "os-strict", "os-big", disk_format="raw")

    names = [i.name for i in openstack("os-strict").cloud().images.list_images()]
    assert "os-big" not in names


def test_share_and_accept_within_the_private_cloud(tmp_path: Path) -> None:
    """user1 shares with user2, accepting for it: user2 sees the image."""
    imported = import_image(str(make_qcow2(tmp_path, "os-share.qcow2")), "os-user1", "os-share")

    report = share_image(imported.image_id, "os-user1", ["os-user2"])

    assert report.consumers[0].status == "accepted"
    seen = {i.id for i in openstack("os-user2").cloud().images.list_images()}
    assert imported.image_id in seen


def test_rackspace_to_private_cloud_and_back_with_identical_content(tmp_path: Path) -> None:
    """DFW → RegionOne (VHD converted to qcow2 here) → DFW again (qcow2 converted to VHD)."""
    source = make_qcow2(tmp_path, "migrate.qcow2")
    imported = import_image(str(source), "alice", "migrate")

    out = replicate_image(imported.image_id, "alice", ["os-user1"])
    [there] = out.targets
    assert (there.mode, there.status) == ("copy", "copied")
    assert there.local_copy is not None
    assert "qcow2" in there.local_copy
    assert there.image_id is not None
    same_disk("os-user1", there.image_id, source, tmp_path)

    back = replicate_image(there.image_id, "os-user1", ["bob"])
    [home] = back.targets
    assert home.status == "copied"
    assert home.image_id is not None
    assert "vhd" in str(home.local_copy)
    copy = block("bob").images_client().get_image(home.image_id)
    assert copy.status == "active"
    same_disk("bob", home.image_id, source, tmp_path)
    again = replicate_image(imported.image_id, "alice", ["os-user1"])
    assert again.targets[0].skipped is True


def test_between_projects_of_one_cloud_copy_streams_without_a_local_copy(tmp_path: Path) -> None:
    """qcow2 to another project in copy mode: streamed Glance to Glance, verified."""
    source = make_qcow2(tmp_path, "os-stream.qcow2")
    imported = import_image(str(source), "os-user1", "os-stream")

    report = replicate_image(imported.image_id, "os-user1", ["os-user2"], mode="copy")

    [target] = report.targets
    assert (target.status, target.local_copy) == ("copied", None)
    assert target.image_id is not None
    same_disk("os-user2", target.image_id, source, tmp_path)


def test_an_export_to_a_container_and_straight_to_a_file(tmp_path: Path) -> None:
    """An OpenStack image can go to a Swift container, or straight to a local file."""
    source = make_vhd(tmp_path, "dynamic", "os-export.vhd")
    imported = import_image(str(source), "os-user1", "os-export")

    into = export_image(imported.image_id, "os-user1", "os-exports")
    again = export_image(imported.image_id, "os-user1", "os-exports")

    assert (into.container, into.skipped) == ("os-exports", False)
    assert again.skipped is True
    same_disk("os-user1", imported.image_id, source, tmp_path)


def test_a_rackspace_export_needs_a_container(tmp_path: Path) -> None:
    """Rackspace serves image bytes only through an export: --download-to alone is refused."""
    imported = import_image(str(make_raw(tmp_path, "rs-nocontainer.raw")), "alice", "rs-nc")

    with pytest.raises(ConfigurationError, match="give --container"):
        export_image(imported.image_id, "alice", None, download_to=str(tmp_path / "x.vhd"))


def test_a_role_without_upload_rights_is_refused_clearly(tmp_path: Path) -> None:
    """reader1 may read images, not make them: Forbidden, naming the account, nothing made."""
    source = make_qcow2(tmp_path, "os-reader.qcow2")

    with pytest.raises(Forbidden, match="may not do this"):
        import_image(str(source), "os-reader", "os-reader")

    names = [i.name for i in openstack("os-user1").cloud().images.list_images()]
    assert "os-reader" not in names


def test_an_import_method_the_cloud_has_not_enabled(tmp_path: Path) -> None:
    """RegionWeb enables web-download only: glance-direct asked for is refused, saying what
    is enabled; auto falls back to a plain upload."""
    source = make_qcow2(tmp_path, "os-web.qcow2")

    with pytest.raises(ConfigurationError, match="has not enabled glance-direct"):
        import_image(str(source), "os-web-direct", "os-web-direct")
    report = import_image(str(source), "os-web", "os-web")

    assert report.skipped is False
    names = [i.name for i in openstack("os-web").cloud().images.list_images()]
    assert names.count("os-web-direct") == 0


def test_web_download_lets_the_cloud_fetch_a_url(
    tmp_path: Path, http_files: tuple[Path, str]
) -> None:
    """--web-download: nothing downloaded here; a rerun finds the image by the URL."""
    served, base = http_files
    source = make_qcow2(served, "fetched.qcow2")
    url = f"{base}/fetched.qcow2"

    report = import_image(url, "os-user1", "os-fetched", web_download=True)
    again = import_image(url, "os-user1", "os-fetched", web_download=True)

    assert (report.disk_format, report.skipped) == ("qcow2", False)
    assert (again.skipped, again.image_id) == (True, report.image_id)
    same_disk("os-user1", report.image_id, source, tmp_path)


@pytest.mark.parametrize(
    ("account", "problem"),
    [("os-strict", "cannot fetch a URL itself"), ("alice", "cannot fetch a URL itself")],
)
def test_web_download_where_the_cloud_cannot(
    http_files: tuple[Path, str], account: str, problem: str
) -> None:
    """A cloud without web-download, and Rackspace, refuse it before anything is made."""
    served, base = http_files
    make_qcow2(served, "nofetch.qcow2")

    with pytest.raises(ConfigurationError, match=problem):
        import_image(f"{base}/nofetch.qcow2", account, "os-nofetch", web_download=True)
