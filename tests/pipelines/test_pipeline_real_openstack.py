"""Across dialects against a real OpenStack: Keystone 30, Glance 33, Swift 2.38, real tokens.

The local cloud's Rackspace region (DFW) → the real private cloud → back to Rackspace,
each copy's disk compared with the source by ``qemu-img compare``; import, export and a
share within the real cloud; an application credential as the login.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudimages import diskimage
from tests.helpers.diskimages import make_qcow2, make_raw
from tests.pipelines.support import export_image, import_image, replicate_image, share_image

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # the first test may install the stack


def same_disk(account: str, image_id: str, source: Path, tmp_path: Path) -> None:
    dest = tmp_path / f"{image_id}.download"
    container = None if account.startswith("real-") else "compare-exports"
    export_image(image_id, account, container, download_to=str(dest))
    got = diskimage.inspect_image(dest).format
    assert diskimage.compare(dest, source, fmt_a=got, fmt_b=diskimage.inspect_image(source).format)


@pytest.mark.usefixtures("real_openstack_blocks")
def test_rackspace_to_real_openstack_and_back(tmp_path: Path) -> None:
    """DFW → real Glance (VHD converted to qcow2 here) → DFW (converted to VHD), same disk."""
    source = make_qcow2(tmp_path, "real-migrate.qcow2")
    imported = import_image(str(source), "alice", "real-migrate")

    there = replicate_image(imported.image_id, "alice", ["real-user1"]).targets[0]
    assert there.status == "copied"
    assert there.image_id is not None
    same_disk("real-user1", there.image_id, source, tmp_path)

    back = replicate_image(there.image_id, "real-user1", ["bob"]).targets[0]
    assert back.status == "copied"
    assert back.image_id is not None
    same_disk("bob", back.image_id, source, tmp_path)


@pytest.mark.usefixtures("real_openstack_blocks")
def test_import_share_and_copy_within_the_real_cloud(tmp_path: Path) -> None:
    """A raw disk imported with an application credential, shared, copied to a project."""
    source = make_raw(tmp_path, "real-import.raw")
    imported = import_image(str(source), "real-appcred", "real-import")
    assert (imported.disk_format, imported.skipped) == ("qcow2", False)
    again = import_image(str(source), "real-appcred", "real-import")
    assert again.skipped is True

    shared = share_image(imported.image_id, "real-user1", ["real-user2"])
    assert shared.consumers[0].status == "accepted"
    copied = replicate_image(imported.image_id, "real-user1", ["real-user2"], mode="copy")
    [target] = copied.targets
    assert (target.status, target.local_copy) == ("copied", None)
    assert target.image_id is not None
    same_disk("real-user2", target.image_id, source, tmp_path)
