"""The hostile-input corpus: each input, how it is built, and what the gate must do with it.

``docs/reliability.md`` ("Hostile disk images") lists the same table for people;
``tests/unit/test_diskimage_gate.py`` runs the gate over every entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cloudimages.errors import (
    DiskFormatMismatch,
    DiskImageError,
    DiskImageTooLarge,
    UnsafeDiskImage,
    UnsupportedDiskFormat,
)
from tests.helpers import diskimages
from tests.helpers import hostile_images as h

GIB = 1024**3
IMPORT_LIMIT = 160 * GIB
SIZE = diskimages.DEFAULT_SIZE


@dataclass(frozen=True)
class Refused:
    """The gate raises exactly ``error``, with a message matching ``message`` (a regex)."""

    error: type[DiskImageError]
    message: str


@dataclass(frozen=True)
class Passes:
    """The gate names ``format``; qemu-img, told that format, then reads it or refuses it."""

    format: str
    virtual_size: int = SIZE
    info_error: str | None = None  # a regex for qemu-img info's refusal, if it refuses
    corrupt: bool = False  # qemu-img check finds corruption


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Path], Path]
    outcome: Refused | Passes
    claimed_format: str | None = None
    limits: dict[str, int] = field(
        default_factory=lambda: {"max_virtual_size": IMPORT_LIMIT, "max_file_size": IMPORT_LIMIT}
    )
    discloses: bool = False  # qemu-img would read a file outside the image (/etc/passwd)


UNSAFE, MISMATCH, TOO_LARGE = UnsafeDiskImage, DiskFormatMismatch, DiskImageTooLarge
UNSUPPORTED, UNUSABLE = UnsupportedDiskFormat, DiskImageError

# fmt: off
CASES = [
    # files outside the image
    Case("qcow2-data-file-etc-passwd", h.qcow2_data_file,
         Refused(UNSAFE, r"names an external data file '/etc/passwd'; qemu-img would read"),
         discloses=True),
    Case("qcow2-data-file-beside-it", h.qcow2_relative_data_file,
         Refused(UNSAFE, r"names an external data file 'disk\.data'")),
    Case("qcow2-backing-relative", diskimages.make_qcow2_with_backing,
         Refused(UNSAFE, r"has a backing file 'base\.qcow2'")),
    Case("qcow2-backing-absolute", h.qcow2_absolute_backing,
         Refused(UNSAFE, r"has a backing file '/.*/base\.qcow2'")),
    Case("qcow2-backing-etc-passwd-raw", lambda d: h.qcow2_backing(d, h.SECRET, "raw"),
         Refused(UNSAFE, r"has a backing file '/etc/passwd'"), discloses=True),
    Case("qcow2-backing-json-protocol", h.qcow2_json_backing,
         Refused(UNSAFE, r"has a backing file .json:\{\"driver\":\"raw\""), discloses=True),
    Case("vmdk-monolithicflat-etc-passwd",
         lambda d: h.vmdk_descriptor(d, "monolithicFlat", h.SECRET),
         Refused(UNSAFE, r"VMDK that names extent files '/etc/passwd': qemu-img would read"),
         discloses=True),
    Case("vmdk-twogbmaxextentflat-etc-passwd",
         lambda d: h.vmdk_descriptor(d, "twoGbMaxExtentFlat", h.SECRET),
         Refused(UNSAFE, r"names extent files '/etc/passwd'"), discloses=True),
    Case("vmdk-extent-outside-its-directory",
         lambda d: h.vmdk_descriptor(d, "monolithicFlat", "../outside-flat.vmdk"),
         Refused(UNSAFE, r"names extent files '\.\./outside-flat\.vmdk'")),
    Case("vmdk-sparse-descriptor-naming-a-sibling", h.vmdk_sparse_descriptor_file,
         Refused(UNSAFE, r"names extent files 'sibling\.vmdk'")),
    Case("vmdk-sparse-zero-capacity", h.vmdk_zero_capacity,
         Refused(UNUSABLE, r"declares no usable virtual size")),
    Case("vhd-differencing", lambda d: diskimages.make_vhd_variant(d, disk_type="differencing"),
         Refused(UNSAFE, r"is a differencing VHD: it has a parent disk")),
    Case("vhdx-parent-locator", h.vhdx_with_parent,
         Refused(UNSAFE, r"is a differencing VHDX: it has a parent disk")),
    Case("qcow2-unknown-incompatible-feature", h.qcow2_unknown_feature,
         Refused(UNSAFE, r"uses features the format inspector does not know")),
    Case("qcow2-with-a-vhd-footer", h.qcow2_with_vhd_footer,
         Refused(UNSAFE, r"looks like qcow2 and a VHD \(by its footer\) at the same time")),
    # sizes
    Case("qcow2-1-tib-virtual", h.qcow2_huge_virtual,
         Refused(TOO_LARGE, r"virtual size of 1\.0 TiB \(1099511627776 bytes\), over the limit")),
    Case("sparse-raw-over-the-file-limit", lambda d: h.sparse_raw(d, 64 * h.MIB),
         Refused(TOO_LARGE, r"is 64\.0 MiB \(67108864 bytes\), over the file size limit"),
         limits={"max_file_size": 16 * h.MIB}),
    # claimed format
    Case("raw-named-qcow2", lambda d: diskimages.make_raw(d, "disk.qcow2"),
         Refused(MISMATCH, r"is said to be qcow2 .* but its bytes are raw data")),
    Case("qcow2-named-vhd", lambda d: diskimages.make_qcow2(d, "disk.vhd"),
         Refused(MISMATCH, r"is said to be vhd .* but its bytes are a qcow2 image")),
    Case("fixed-vhd-named-img", lambda d: diskimages.make_vhd(d, "fixed", "disk.img"),
         Refused(MISMATCH, r"is said to be img .* but its bytes are a VHD")),
    Case("qcow2-claimed-vmdk-by-format", lambda d: diskimages.make_qcow2(d, "disk"),
         Refused(MISMATCH, r"is said to be vmdk"), claimed_format="vmdk"),
    # not importable
    Case("iso", h.iso, Refused(UNSUPPORTED, r"is an ISO 9660/UDF optical disc image")),
    Case("iso-hybrid-with-mbr", lambda d: h.iso(d, hybrid=True),
         Refused(UNSUPPORTED, r"is an ISO 9660/UDF optical disc image")),
    Case("luks", h.luks, Refused(UNSUPPORTED, r"is LUKS-encrypted")),
    Case("qcow2-encrypted", h.qcow2_encrypted, Refused(UNSUPPORTED, r"is an encrypted qcow2")),
    Case("qed", lambda d: h.create(d, "disk.qed", "qed"),
         Refused(UNSUPPORTED, r"is a QED image")),
    Case("qcow-version-1", lambda d: h.create(d, "disk.qcow", "qcow"),
         Refused(UNSUPPORTED, r"is a qcow version 1 image")),
    Case("parallels", lambda d: h.create(d, "disk.hdd", "parallels"),
         Refused(UNSUPPORTED, r"is a Parallels disk")),
    Case("gzip", h.gzipped, Refused(UNSUPPORTED, r"is compressed with gzip.*\(gunzip\)")),
    Case("xz", h.xz_compressed, Refused(UNSUPPORTED, r"is compressed with xz, not a disk image")),
    Case("ova-tar", h.ova, Refused(UNSUPPORTED, r"is a tar archive \(an OVA\?\)")),
    Case("empty-file", lambda d: h.sparse_raw(d, 0), Refused(UNUSABLE, r"is empty \(0 bytes\)")),
    Case("random-1000-bytes", h.random_bytes,
         Refused(UNUSABLE, r"is not a disk image: .*\(1000 bytes\) is not a whole number")),
    Case("qcow2-cut-inside-its-header", h.qcow2_truncated_header,
         Refused(UNUSABLE, r"is not a disk image: .*\(100 bytes\)")),
    Case("text-that-trips-the-inspector", h.text_tripping_the_inspector,
         Refused(UNUSABLE, r"cannot be inspected safely|can be inspected safely.*AttributeError")),
    # not regular files
    Case("named-pipe", h.named_pipe, Refused(UNSAFE, r"is a named pipe, not a regular file")),
    Case("symlink-to-dev-zero", lambda d: h.symlink(d, Path("/dev/zero"), "zero.raw"),
         Refused(UNSAFE, r"is a character device \(through the symbolic link to '/dev/zero'\)")),
    Case("directory", lambda d: d, Refused(UNSAFE, r"is a directory, not a regular file")),
    Case("missing-file", lambda d: d / "nope.qcow2", Refused(UNUSABLE, r"the file does not exist")),
    # passes the gate: qemu-img, told the format, reads it or refuses it itself
    Case("qcow2-huge-l1-table", lambda d: h.qcow2_field(d, "l1.qcow2", 36, b"\x7f\xff\xff\xff"),
         Passes("qcow2", info_error=r"Active L1 table too large")),
    Case("qcow2-huge-refcount-table",
         lambda d: h.qcow2_field(d, "refcount.qcow2", 56, b"\x7f\xff\xff\xff"),
         Passes("qcow2", info_error=r"Reference count table too large")),
    Case("qcow2-cut-in-half", diskimages.make_truncated, Passes("qcow2", corrupt=True)),
    Case("symlink-to-a-qcow2", lambda d: h.symlink(d, diskimages.make_qcow2(d, "target.qcow2")),
         Passes("qcow2")),
    Case("qcow2-named-img", lambda d: diskimages.make_qcow2(d, "cloud.img"), Passes("qcow2")),
    Case("raw", diskimages.make_raw, Passes("raw")),
    Case("raw-with-gpt-protective-mbr", h.gpt_raw, Passes("raw")),
    Case("qcow2", diskimages.make_qcow2, Passes("qcow2")),
    Case("vhd-fixed", lambda d: diskimages.make_vhd(d, "fixed"), Passes("vpc")),
    Case("vhd-dynamic", lambda d: diskimages.make_vhd(d, "dynamic"), Passes("vpc")),
    Case("vhdx", lambda d: h.create(d, "disk.vhdx", "vhdx"), Passes("vhdx")),
    Case("vmdk-monolithicsparse", lambda d: h.create(d, "disk.vmdk", "vmdk"), Passes("vmdk")),
    Case("vmdk-streamoptimized",
         lambda d: h.create(d, "stream.vmdk", "vmdk", "4M", "-o", "subformat=streamOptimized"),
         Passes("vmdk")),
    Case("vdi", lambda d: h.create(d, "disk.vdi", "vdi"), Passes("vdi")),
]
# fmt: on
