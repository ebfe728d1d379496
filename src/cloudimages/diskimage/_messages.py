"""The gate's messages: what is wrong with the file, and what to do about it."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import BinaryIO

from . import _detect, _references

_FLATTEN = (
    " If you made this image, flatten it into one standalone file with"
    " `qemu-img convert -O qcow2 in.qcow2 out.qcow2` on a machine you trust;"
    " an image from someone else that names other files should not be opened at all."
)
_FORMATS = "qcow2, VHD, VMDK, VHDX, VDI or raw"
_DESCRIPTIONS = {
    "raw": f"raw data (no {_FORMATS.removesuffix(' or raw')} header was found)",
    "vpc": "a VHD",
    "qcow2": "a qcow2 image",
    "vmdk": "a VMDK",
    "vhdx": "a VHDX",
    "vdi": "a VDI",
    "iso": "an ISO",
}
_EXTENSIONS = {"vpc": "vhd", "raw": "raw"}
_UNSUPPORTED = {
    "iso": "is an ISO 9660/UDF optical disc image, not a hard disk; Cloud Images imports"
    " hard disks. Install from it onto a disk and import that disk.",
    "luks": "is LUKS-encrypted, so its sectors cannot be read. Decrypt it first"
    " (qemu-img convert with the key as --object secret, -O qcow2) and import the result.",
    "encrypted-qcow2": "is an encrypted qcow2, so its sectors cannot be read. Decrypt it"
    " first (qemu-img convert with the key as --object secret, -O qcow2).",
    "qed": "is a QED image, a format qemu deprecated and the format inspector refuses."
    " Convert it with `qemu-img convert -f qed -O qcow2 in.qed out.qcow2` on a machine you trust.",
    "qcow1": "is a qcow version 1 image; only qcow2 (versions 2 and 3) is read. Convert it"
    " with `qemu-img convert -f qcow -O qcow2 in.qcow out.qcow2`.",
    "tar": "is a tar archive (an OVA?), not a disk image. Extract the disk from it"
    " (`tar -xf`) and import that.",
    "parallels": "is a Parallels disk. Convert it with"
    " `qemu-img convert -f parallels -O qcow2 in.hdd out.qcow2` and import the result.",
}
_COMPRESSED = {"gzip": "gunzip", "xz": "unxz", "bzip2": "bunzip2", "zstd": "unzstd", "zip": "unzip"}
#: Magic numbers of files people mistake for disk images: (offset, bytes, kind).
_PACKED = (
    (0, b"\x1f\x8b", "gzip"),
    (0, b"\xfd7zXZ\x00", "xz"),
    (0, b"\x28\xb5\x2f\xfd", "zstd"),
    (0, b"PK\x03\x04", "zip"),
    (257, b"ustar", "tar"),
    (0, b"WithoutFreeSpace", "parallels"),
    (0, b"WithouFreSpacExt", "parallels"),
)
_FILE_KINDS = (
    (stat.S_ISDIR, "directory"),
    (stat.S_ISFIFO, "named pipe"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISSOCK, "socket"),
)


def packed_kind(head: bytes) -> str | None:
    """The kind of compressed or archive file ``head`` starts, if it is one."""
    for offset, magic, kind in _PACKED:
        if head[offset : offset + len(magic)] == magic:
            return kind
    if head[:3] == b"BZh" and head[3:4].isdigit():
        return "bzip2"
    return None


def empty(where: str) -> str:
    return f"{where!r} is empty (0 bytes): there is no disk in it. Check that the copy finished."


def missing(where: str, real: Path) -> str:
    link = f" (it is a symbolic link to {str(real)!r})" if Path(where).is_symlink() else ""
    return f"no disk image at {where!r}: the file does not exist{link}. Check the path."


def unreadable(where: str, err: OSError) -> str:
    return f"cannot read {where!r}: {err.strerror}. Check the path and its permissions."


def not_a_file(where: str, real: Path, mode: int) -> str:
    kind = next((name for test, name in _FILE_KINDS if test(mode)), "special file")
    link = f" (through the symbolic link to {str(real)!r})" if Path(where).is_symlink() else ""
    return (
        f"{where!r} is a {kind}{link}, not a regular file. Disk images are read from regular"
        " files only: a pipe or a device can be endless, or be a disk of this machine."
        " Copy the image into a file first."
    )


def uninspectable(where: str, why: str) -> str:
    return (
        f"{where!r} is not a disk image that can be inspected safely: the format inspector"
        f" failed on it ({why}). Check that it is the file you meant, or export the disk again."
    )


def unsupported(where: str, kind: str) -> str:
    if kind in _COMPRESSED:
        return (
            f"{where!r} is compressed with {kind}, not a disk image. Decompress it first"
            f" ({_COMPRESSED[kind]}) and import the disk inside."
        )
    return f"{where!r} " + _UNSUPPORTED.get(kind, f"is in {kind} format, which cannot be imported.")


def polyglot(where: str, formats: list[str]) -> str:
    return (
        f"{where!r} looks like {' and '.join(formats)} at the same time. A file that is two"
        " formats can make qemu-img read one while every check reads the other; export the"
        " disk again as one format."
    )


def mismatch(where: str, claimed: str, detected: str) -> str:
    extension = _EXTENSIONS.get(detected, detected)
    return (
        f"{where!r} is said to be {claimed} (by --format or its file name) but its bytes are"
        f" {_DESCRIPTIONS.get(detected, detected)}. Check that it is the file you meant; if it"
        f" is, name it .{extension} or give its real format."
    )


def not_a_disk(where: str, size: int) -> str:
    return (
        f"{where!r} is not a disk image: no known format matched its bytes and its size"
        f" ({size} bytes) is not a whole number of 512-byte sectors. Pass a {_FORMATS}"
        " disk image."
    )


def no_virtual_size(where: str, fmt: str) -> str:
    return (
        f"{where!r} is a {fmt} image whose header declares no usable virtual size (0 bytes);"
        " there is no disk to import. Export the disk again."
    )


def too_large(where: str, measure: str, size: int, limit: int) -> str:
    if measure == "virtual":
        return (
            f"{where!r} has a virtual size of {_human(size)} ({size} bytes), over the limit of"
            f" {_human(limit)} ({limit} bytes). Shrink the disk (its last partition, then"
            " `qemu-img resize --shrink`) or import it where larger disks are allowed."
        )
    return (
        f"{where!r} is {_human(size)} ({size} bytes), over the file size limit of"
        f" {_human(limit)} ({limit} bytes). Convert it to a sparse format"
        " (`qemu-img convert -O qcow2`) so that only the used blocks count."
    )


def references(
    f: BinaryIO, fmt: str, inspector: _detect.Inspector, failures: dict[str, str]
) -> tuple[str, ...]:
    """The outside files named by an image the inspector flagged, for the message."""
    if fmt == "vmdk" and inspector.has_region("descriptor"):
        return _references.vmdk_extents(bytes(inspector.region("descriptor").data))
    if fmt != "qcow2" or not inspector.has_region("header"):
        return ()
    header = bytes(inspector.region("header").data)
    found = (
        _references.qcow2_backing_file(f, header) if "backing_file" in failures else None,
        _references.qcow2_data_file(f, header) if "data_file" in failures else None,
    )
    return tuple(name for name in found if name)


def unsafe(where: str, fmt: str, failures: dict[str, str], refs: tuple[str, ...]) -> str:
    """Why qemu-img must not open the file; the first failure that has a story wins."""
    if fmt == "qcow2" and {"backing_file", "data_file"} & failures.keys():
        return _qcow2_references(where, failures, refs) + _FLATTEN
    if fmt == "qcow2" and "unknown_features" in failures:
        return (
            f"{where!r} is a qcow2 that uses features the format inspector does not know"
            " (incompatible feature bits); qemu-img could follow them to other files." + _FLATTEN
        )
    if fmt == "vmdk" and {"descriptor", "descriptor_file"} & failures.keys():
        return _vmdk_references(where, failures, refs)
    if "parent" in failures:
        kind = "VHD" if fmt == "vpc" else fmt.upper()
        return (
            f"{where!r} is a differencing {kind}: it has a parent disk and holds only the changes"
            " to it, so qemu-img would have to find and read that other file. Cloud Images"
            f" imports standalone disks only; coalesce it into one {kind} first."
        )
    if "incomplete" in failures:
        return (
            f"{where!r} could not be checked for safety: its {fmt} header is incomplete or"
            f" damaged ({failures['incomplete']}). Export the disk again."
        )
    shown = "; ".join(f"{name}: {reason}" for name, reason in failures.items())
    return (
        f"{where!r} fails the format inspector's safety checks for {fmt} ({shown}), so qemu-img"
        " must not open it. Export the disk again as a standalone image."
    )


def _qcow2_references(where: str, failures: dict[str, str], refs: tuple[str, ...]) -> str:
    names = iter(refs)
    parts = []
    if "backing_file" in failures:
        name = next(names, None)
        parts.append(
            f"{where!r} has a backing file{_quoted(name)}: qemu-img would read that file"
            " as the lower layer of this disk."
        )
    if "data_file" in failures:
        name = next(names, None)
        parts.append(
            f"{'It' if parts else repr(where)} names an external data file{_quoted(name)};"
            " qemu-img would read that file into the image."
        )
    return " ".join(parts)


def _vmdk_references(where: str, failures: dict[str, str], refs: tuple[str, ...]) -> str:
    if refs:
        what = f"names extent files {', '.join(map(repr, refs))}"
        effect = "qemu-img would read those files as this disk's data"
    else:
        reason = failures.get("descriptor", failures.get("descriptor_file", ""))
        what, effect = "has a descriptor the format inspector refuses", reason
    return (
        f"{where!r} is a VMDK that {what}: {effect}. Only single-file VMDKs (monolithicSparse"
        " or streamOptimized) can be imported; convert it to qcow2 on a machine you trust."
    )


def _quoted(name: str | None) -> str:
    return f" {name!r}" if name else ""


def _human(size: int) -> str:
    amount = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if amount < 1024:
            return f"{amount:.0f} {unit}" if unit == "bytes" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} TiB"
