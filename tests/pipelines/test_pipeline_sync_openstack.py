"""sync-images across dialects: one spec keeps Rackspace and a private cloud in line.

The same golden image goes to alice (Rackspace, DFW: as a VHD) and to a Keystone v3
project of the local private cloud (RegionOne: as qcow2, the source's own format); one
apply converges, the next plan has nothing to do, and no staged record is left.
"""

from __future__ import annotations

from pathlib import Path

from cloudimages.syncspec.state import SYNC_CATALOG
from tests.helpers.diskimages import make_qcow2
from tests.pipelines.support import openstack
from tests.pipelines.sync_support import managed, sha256_of, sync, write_spec


def test_one_spec_converges_on_rackspace_and_a_private_cloud(tmp_path: Path) -> None:
    """A VHD for Rackspace, a qcow2 for Glance; a second plan reports nothing to do."""
    disk = make_qcow2(tmp_path, "golden-os.qcow2")
    spec = write_spec(
        tmp_path / "hybrid.yaml",
        {
            "catalog": "hybrid",
            "targets": [{"account": "alice", "regions": ["DFW"]}, {"account": "os-user1"}],
            "images": [
                {
                    "name": "golden-os",
                    "version": "1",
                    "source": {"file": disk.name},
                    "checksum": f"sha256:{sha256_of(disk)}",
                    "properties": {"com.example.tier": "gold"},
                }
            ],
        },
    )

    applied = sync(spec)
    again = sync(spec, mode="plan")

    assert (applied.changes, applied.failed) == (2, 0)
    assert again.changes == 0
    [rackspace] = managed("alice", "DFW", "hybrid")
    private = openstack("os-user1").cloud()
    mine = private.images.list_images(owner=private.member_id, properties={SYNC_CATALOG: "hybrid"})
    [glance] = [i for i in mine if i.status == "active"]
    assert (rackspace.disk_format, glance.disk_format) == ("vhd", "qcow2")
    assert glance.name == rackspace.name == "golden-os 1"
    assert [i for i in mine if i.status != "active"] == []
