"""Builders for hostile disk images: each made for real, with qemu-img where it can.

Every builder takes a directory and returns the path to hand to the gate. Where
qemu-img cannot make the case (a data file named /etc/passwd would make it
*create* that file; there is no tool for a differencing VHDX), a real image is
made first and then edited byte by byte, the way an attacker would. The
expected outcome of each is in ``tests/helpers/hostile_corpus.py``.
"""

from __future__ import annotations

import lzma
import os
import struct
import subprocess
import tarfile
import uuid
from collections.abc import Callable
from pathlib import Path

from tests.helpers import diskimages

MIB = 1024 * 1024
TIB = 1024**4
SECRET = "/etc/passwd"
_PLACEHOLDER = "etcpasswd.x"  # as long as SECRET, so the header can be patched in place
_VHDX_METADATA = 0x300000  # where qemu-img puts the VHDX metadata region
_VHDX_PARENT_LOCATOR = uuid.UUID("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C")
_VHDX_LOCATOR_TYPE = uuid.UUID("B04AEFB7-D19E-4A81-B789-25B8E9445913")


def qemu_img(*args: str, cwd: Path) -> None:
    """Run the real qemu-img in ``cwd``, failing loudly with its stderr."""
    subprocess.run(["qemu-img", *args], check=True, capture_output=True, text=True, cwd=cwd)


def create(directory: Path, name: str, fmt: str, size: str = "4M", *options: str) -> Path:
    """qemu-img create, run in ``directory`` so relative names (data files) land there."""
    path = directory / name
    qemu_img("create", "-q", "-f", fmt, *options, name, size, cwd=directory)
    return path


def patch(path: Path, offset: int, data: bytes) -> Path:
    with path.open("r+b") as f:
        f.seek(offset)
        f.write(data)
    return path


def replace_bytes(path: Path, old: bytes, new: bytes) -> Path:
    data = path.read_bytes()
    assert data.count(old) == 1, f"{old!r} is not in {path.name} exactly once"
    path.write_bytes(data.replace(old, new))
    return path


# qcow2 ---------------------------------------------------------------------------
def qcow2_data_file(directory: Path, target: str = SECRET) -> Path:
    """A qcow2 whose external data file (data_file_raw) is ``target``.

    qemu-img creates the data file it is given, so the image is made with a
    harmless name of the same length, which is then patched to ``target``.
    """
    placeholder = _PLACEHOLDER if len(target) == len(SECRET) else "x" * len(target)
    path = create(
        directory,
        "data-file.qcow2",
        "qcow2",
        "4M",
        "-o",
        f"data_file={placeholder},data_file_raw=on",
    )
    (directory / placeholder).unlink()
    return replace_bytes(path, placeholder.encode(), target.encode())


def qcow2_relative_data_file(directory: Path) -> Path:
    """A qcow2 with its data in ``disk.data`` beside it, as qemu-img makes it."""
    return create(directory, "split.qcow2", "qcow2", "4M", "-o", "data_file=disk.data")


def qcow2_backing(directory: Path, backing: str, backing_fmt: str = "qcow2") -> Path:
    """A qcow2 overlay of ``backing``, created without opening it (``-u``)."""
    return create(directory, "overlay.qcow2", "qcow2", "4M", "-u", "-b", backing, "-F", backing_fmt)


def qcow2_absolute_backing(directory: Path) -> Path:
    base = diskimages.make_qcow2(directory, "base.qcow2")
    return qcow2_backing(directory, str(base))


def qcow2_json_backing(directory: Path) -> Path:
    """A backing file given as a ``json:`` pseudo-protocol: any driver, any file."""
    spec = f'{{"driver":"raw","file":{{"driver":"file","filename":"{SECRET}"}}}}'
    return qcow2_backing(directory, f"json:{spec}", "raw")


def qcow2_huge_virtual(directory: Path) -> Path:
    return create(directory, "huge.qcow2", "qcow2", "1T")


def qcow2_truncated_header(directory: Path) -> Path:
    path = diskimages.make_qcow2(directory, "cut-header.qcow2")
    os.truncate(path, 100)
    return path


def qcow2_field(directory: Path, name: str, offset: int, data: bytes) -> Path:
    """A plain qcow2 with one header field overwritten."""
    return patch(diskimages.make_qcow2(directory, name), offset, data)


def qcow2_unknown_feature(directory: Path) -> Path:
    """Incompatible feature bit 5, which no qemu knows (bit 2, data file, is the CVE's)."""
    return qcow2_field(directory, "feature.qcow2", 72, struct.pack(">Q", 1 << 5))


def qcow2_encrypted(directory: Path) -> Path:
    options = "encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=50"
    return _with_retries(
        lambda: create(
            directory,
            "encrypted.qcow2",
            "qcow2",
            "4M",
            "--object",
            "secret,id=s0,data=k",
            "-o",
            options,
        )
    )


def qcow2_with_vhd_footer(directory: Path) -> Path:
    """A qcow2 with a fixed VHD's footer appended: two formats in one file."""
    path = diskimages.make_qcow2(directory, "polyglot.vhd")
    footer = diskimages.make_vhd(directory, "fixed", "donor.vhd").read_bytes()[-512:]
    with path.open("ab") as f:
        f.write(footer)
    return path


# VMDK ----------------------------------------------------------------------------
def vmdk_descriptor(directory: Path, subformat: str, extent: str) -> Path:
    """A descriptor-only VMDK made by qemu-img, its first extent line pointed at ``extent``."""
    path = create(directory, f"{subformat}.vmdk", "vmdk", "1M", "-o", f"subformat={subformat}")
    text = path.read_text()
    line = next(row for row in text.splitlines() if row.startswith("RW "))
    path.write_text(text.replace(line, f'RW 2 FLAT "{extent}" 0'))
    return path


def vmdk_sparse_descriptor_file(directory: Path) -> Path:
    """A text descriptor claiming monolithicSparse whose extent is a sibling (no '/')."""
    path = directory / "descriptor.vmdk"
    path.write_text(
        "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
        'createType="monolithicSparse"\n\nRW 2048 SPARSE "sibling.vmdk"\n\n'
        'ddb.adapterType = "ide"\n'
    )
    sparse_raw(directory, MIB, "sibling.vmdk")
    return path


def vmdk_zero_capacity(directory: Path) -> Path:
    """A sparse VMDK whose header says 0 sectors, its embedded extent naming a sibling."""
    path = create(directory, "capacity0.vmdk", "vmdk", "4M")
    descriptor = (
        b"# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
        b'createType="monolithicSparse"\n\nRW 8 FLAT "secret.txt" 0\n'
    )
    patch(path, 12, struct.pack("<Q", 0))
    return patch(path, 512, descriptor + bytes(1024 - len(descriptor)))


# VHD and VHDX --------------------------------------------------------------------
def vhdx_with_parent(directory: Path) -> Path:
    """A qemu-made VHDX turned differencing: HasParent set and a parent locator added."""
    path = create(directory, "child.vhdx", "vhdx")
    data = bytearray(path.read_bytes())
    table = _VHDX_METADATA
    count = struct.unpack_from("<H", data, table + 10)[0]
    params = _vhdx_item_offset(data, table, count, "CAA16737-FA36-4D43-B3B6-33F0AA44E76B")
    struct.pack_into("<I", data, table + params + 4, 0x2)  # HasParent
    locator = _vhdx_locator({"parent_linkage": f"{{{uuid.uuid4()}}}", "relative_path": SECRET})
    where = 0x10100
    data[table + where : table + where + len(locator)] = locator
    entry = _VHDX_PARENT_LOCATOR.bytes_le + struct.pack("<III", where, len(locator), 0x6) + bytes(4)
    data[table + 32 + 32 * count : table + 64 + 32 * count] = entry
    struct.pack_into("<H", data, table + 10, count + 1)
    path.write_bytes(bytes(data))
    return path


def _vhdx_item_offset(data: bytearray, table: int, count: int, guid: str) -> int:
    wanted = uuid.UUID(guid).bytes_le
    for i in range(count):
        entry = table + 32 + 32 * i
        if data[entry : entry + 16] == wanted:
            return int(struct.unpack_from("<I", data, entry + 16)[0])
    raise AssertionError(f"no metadata item {guid}")


def _vhdx_locator(pairs: dict[str, str]) -> bytes:
    header = _VHDX_LOCATOR_TYPE.bytes_le + struct.pack("<HH", 0, len(pairs))
    strings, entries = b"", b""
    start = len(header) + 12 * len(pairs)
    for key, value in pairs.items():
        k, v = key.encode("utf-16-le"), value.encode("utf-16-le")
        entries += struct.pack(
            "<IIHH", start + len(strings), start + len(strings) + len(k), len(k), len(v)
        )
        strings += k + v
    return header + entries + strings


# not disk images -----------------------------------------------------------------
def iso(directory: Path, *, hybrid: bool = False) -> Path:
    """An ISO 9660 volume: a primary volume descriptor at 32 KiB (and an MBR if hybrid)."""
    path = directory / ("hybrid.iso" if hybrid else "disc.iso")
    image = bytearray(64 * 1024)
    descriptor = b"\x01CD001\x01" + bytes(73) + struct.pack("<I", 32) + bytes(40)
    image[32768 : 32768 + len(descriptor)] = descriptor
    struct.pack_into("<H", image, 32768 + 128, 2048)
    if hybrid:
        image[446:462] = bytes([0x80, 0, 2, 0, 0x17, 0, 0, 0]) + struct.pack("<II", 0, 128)
        image[510:512] = b"\x55\xaa"
    path.write_bytes(bytes(image))
    return path


def luks(directory: Path) -> Path:
    options = ("--object", "secret,id=s0,data=k", "-o", "key-secret=s0,iter-time=50")
    return _with_retries(lambda: create(directory, "disk.luks", "luks", "4M", *options))


def gzipped(directory: Path) -> Path:
    source = diskimages.make_qcow2(directory, "zipped.qcow2")
    subprocess.run(["gzip", "-f", str(source)], check=True)
    return source.with_name("zipped.qcow2.gz")


def xz_compressed(directory: Path) -> Path:
    path = directory / "disk.raw.xz"
    path.write_bytes(lzma.compress(diskimages.make_raw(directory, "xz-src.raw").read_bytes()))
    return path


def ova(directory: Path) -> Path:
    """An OVA: a tar archive holding a VMDK."""
    disk = create(directory, "inside.vmdk", "vmdk")
    path = directory / "appliance.ova"
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as archive:
        archive.add(disk, arcname=disk.name)
    return path


def random_bytes(directory: Path) -> Path:
    path = directory / "noise.bin"
    path.write_bytes(os.urandom(1000))
    return path


def text_tripping_the_inspector(directory: Path) -> Path:
    """ASCII for 600 bytes, then UTF-8: oslo.utils' VMDK probe raises AttributeError on it."""
    path = directory / "notes.md"
    path.write_text("a" * 600 + "é" * 10 + "\n", encoding="utf-8")
    return path


def gpt_raw(directory: Path) -> Path:
    """A raw disk with a protective MBR (a GPT disk, as far as the first sector goes)."""
    path = diskimages.make_raw(directory, "gpt.raw")
    entry = bytes([0, 0, 2, 0, 0xEE, 0xFF, 0xFF, 0xFF]) + struct.pack("<II", 1, 8191)
    return patch(patch(path, 446, entry + bytes(48)), 510, b"\x55\xaa")


def sparse_raw(directory: Path, size: int, name: str = "sparse.raw") -> Path:
    path = directory / name
    with path.open("wb") as f:
        f.truncate(size)
    return path


# not regular files ---------------------------------------------------------------
def symlink(directory: Path, target: Path, name: str = "link.qcow2") -> Path:
    link = directory / name
    link.symlink_to(target)
    return link


def named_pipe(directory: Path) -> Path:
    path = directory / "pipe.raw"
    os.mkfifo(path)
    return path


def _with_retries(make: Callable[[], Path]) -> Path:
    """qemu-img's LUKS key setup times the CPU and now and then finds no time passed."""
    for _ in range(4):
        try:
            return make()
        except subprocess.CalledProcessError:
            continue
    return make()
