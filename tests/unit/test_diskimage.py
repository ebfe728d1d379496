"""The qemu-img wrapper, run against real images made by qemu-img and qemu-io."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from cloudimages import diskimage
from cloudimages.diskimage import CheckResult, ImageInfo
from cloudimages.errors import DiskImageError, QemuImgError, UnsafeDiskImage

try:
    from tests.helpers import diskimages as images
except ModuleNotFoundError:  # the repo root is not on sys.path until pytest's pythonpath says so
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.helpers import diskimages as images

SIZE = images.DEFAULT_SIZE


@pytest.fixture
def fake_qemu_img(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point CLOUDIMAGES_QEMU_IMG at a script the test writes; yields the script's path."""
    script = tmp_path / "fake-qemu-img"
    monkeypatch.setenv(diskimage.QEMU_IMG_ENV, str(script))
    return script


def write_script(path: Path, body: str) -> None:
    """Make ``path`` an executable shell script with ``body``."""
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


# info


def test_info_reads_qcow2_fields(tmp_path: Path) -> None:
    """info on a qcow2 reports its format, sizes, cluster size and format-specific data."""
    result = diskimage.info(images.make_qcow2(tmp_path), fmt="qcow2")

    assert isinstance(result, ImageInfo)
    assert (result.format, result.virtual_size, result.cluster_size) == ("qcow2", SIZE, 65536)
    assert result.actual_size is not None
    assert 0 < result.actual_size < SIZE
    assert result.backing_filename is None
    assert result.dirty_flag is False
    assert result.format_specific["type"] == "qcow2"
    assert result.format_specific["data"]["corrupt"] is False


def test_info_raw_has_no_cluster_size(tmp_path: Path) -> None:
    """info on a raw image gives its size and no cluster size or format-specific block."""
    result = diskimage.info(images.make_raw(tmp_path), fmt="raw")

    assert (result.format, result.virtual_size) == ("raw", SIZE)
    assert result.cluster_size is None
    assert result.format_specific == {}


def test_info_reports_backing_file(tmp_path: Path) -> None:
    """info names an overlay's backing file so callers can refuse it."""
    result = diskimage.info(images.make_qcow2_with_backing(tmp_path), fmt="qcow2")

    assert result.backing_filename == "base.qcow2"


def test_info_of_a_fixed_vhd_as_vpc_counts_no_footer_as_data(tmp_path: Path) -> None:
    """With the format the gate names (vpc), info does not count a fixed VHD's footer as data."""
    path = images.make_vhd(tmp_path, "fixed")

    result = diskimage.info(path, fmt=diskimage.probe_format(path))

    assert result.format == "vpc"
    assert result.virtual_size == SIZE
    assert path.stat().st_size == SIZE + 512


def test_info_needs_a_format() -> None:
    """info has no probing mode: the format is a required keyword."""
    with pytest.raises(TypeError, match="fmt"):
        diskimage.info("disk.qcow2")  # type: ignore[call-arg]


def test_info_works_while_another_process_holds_the_image(tmp_path: Path) -> None:
    """info reads an image that qemu-io holds open for writing (it passes -U)."""
    path = images.make_qcow2(tmp_path)
    holder = subprocess.Popen(
        ["qemu-io", "-f", "qcow2", str(path)], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    try:
        _wait_for_write_lock(path)
        assert diskimage.info(path, fmt="qcow2").virtual_size == SIZE
    finally:
        holder.communicate(b"quit\n", timeout=10)


def _wait_for_write_lock(path: Path) -> None:
    """Wait until a plain ``qemu-img info`` (without -U) is refused because of a lock."""
    deadline = time.monotonic() + 60  # qemu-io starts slowly on a loaded machine
    while time.monotonic() < deadline:
        plain = subprocess.run(
            ["qemu-img", "info", str(path)], capture_output=True, text=True, check=False
        )
        if plain.returncode != 0 and "lock" in plain.stderr:
            return
        time.sleep(0.05)
    pytest.fail("qemu-io never took the image's write lock")


def test_info_with_wrong_format_raises_with_stderr(tmp_path: Path) -> None:
    """info with a format the file is not raises QemuImgError naming the file and qemu's words."""
    path = images.make_not_an_image(tmp_path)

    with pytest.raises(QemuImgError) as caught:
        diskimage.info(path, fmt="qcow2")

    assert caught.value.returncode == 1
    assert str(path) in str(caught.value)
    assert "Image is not in qcow2 format" in str(caught.value)
    assert caught.value.command[1:3] == ("info", "-U")


def test_image_info_ignores_unknown_keys() -> None:
    """ImageInfo accepts keys newer qemu versions add, such as nested children."""
    data = {"format": "raw", "virtual-size": 1, "children": [{"name": "file"}], "x": 2}

    assert ImageInfo.model_validate(data).virtual_size == 1


# probe_format


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: images.make_vhd(d, "fixed"), "vpc"),
        (lambda d: images.make_vhd(d, "dynamic"), "vpc"),
        (images.make_qcow2, "qcow2"),
        (images.make_raw, "raw"),
    ],
    ids=["fixed-vhd", "dynamic-vhd", "qcow2", "raw"],
)
def test_probe_format(tmp_path: Path, make: images.Factory, expected: str) -> None:
    """probe_format (the gate, no qemu-img) says vpc for both VHD kinds, else the format."""
    assert diskimage.probe_format(make(tmp_path)) == expected


def test_probe_format_refuses_what_the_gate_refuses(tmp_path: Path) -> None:
    """probe_format is the gate: a text file is no disk image, an overlay is unsafe."""
    with pytest.raises(DiskImageError, match="is not a disk image"):
        diskimage.probe_format(images.make_not_an_image(tmp_path))
    with pytest.raises(UnsafeDiskImage, match=r"has a backing file 'base\.qcow2'"):
        diskimage.probe_format(images.make_qcow2_with_backing(tmp_path))


def test_qemu_alone_probes_fixed_vhd_as_raw(tmp_path: Path) -> None:
    """One reason probe_format exists: qemu-img's own probe calls a fixed VHD raw."""
    path = images.make_vhd(tmp_path, "fixed")
    plain = subprocess.run(
        ["qemu-img", "info", str(path)], capture_output=True, text=True, check=False
    )

    assert "file format: raw" in plain.stdout


# check


def test_check_clean_qcow2(tmp_path: Path) -> None:
    """check on an intact qcow2 (exit 0) is clean and knows where the image ends."""
    path = images.make_qcow2(tmp_path)

    result = diskimage.check(path, fmt="qcow2")

    assert result.supported
    assert result.clean
    assert (result.corruptions, result.leaks, result.check_errors) == (0, 0, 0)
    assert result.image_end_offset == path.stat().st_size


@pytest.mark.parametrize("kind", ["refcount", "l2_past_eof"])
def test_check_corrupt_qcow2(tmp_path: Path, kind: images.CorruptKind) -> None:
    """check on a damaged qcow2 (exit 2) counts corruptions instead of raising."""
    result = diskimage.check(images.make_corrupt_qcow2(tmp_path, kind), fmt="qcow2")

    assert result.supported
    assert result.corruptions > 0
    assert not result.clean


def test_check_truncated_qcow2(tmp_path: Path) -> None:
    """check on a qcow2 cut in half (exit 2) reports corruptions."""
    result = diskimage.check(images.make_truncated(tmp_path), fmt="qcow2")

    assert result.corruptions > 0
    assert not result.clean


def test_check_leaky_qcow2(tmp_path: Path) -> None:
    """check on a qcow2 with one leaked cluster (exit 3) reports exactly that leak."""
    result = diskimage.check(images.make_leaky_qcow2(tmp_path), fmt="qcow2")

    assert (result.corruptions, result.leaks) == (0, 1)
    assert not result.clean


@pytest.mark.parametrize(
    ("make", "fmt"),
    [(images.make_raw, "raw"), (lambda d: images.make_vhd(d, "dynamic"), "vpc")],
    ids=["raw", "vpc"],
)
def test_check_unsupported_format(tmp_path: Path, make: images.Factory, fmt: str) -> None:
    """check on a format without checks (exit 63) returns supported=False instead of raising."""
    assert diskimage.check(make(tmp_path), fmt=fmt) == CheckResult(supported=False)


def test_check_unreadable_raises(tmp_path: Path) -> None:
    """check on a file that is not the given format (exit 1) raises QemuImgError."""
    path = images.make_not_an_image(tmp_path)

    with pytest.raises(QemuImgError) as caught:
        diskimage.check(path, fmt="qcow2")

    assert caught.value.returncode == 1
    assert str(path) in str(caught.value)
    assert "really is a qcow2 image" in str(caught.value)


def test_check_without_json_raises(fake_qemu_img: Path, tmp_path: Path) -> None:
    """A qemu-img that exits 0 but prints no JSON is reported, not parsed as empty."""
    write_script(fake_qemu_img, "echo 'not json'")

    with pytest.raises(QemuImgError, match="printed no JSON"):
        diskimage.check(tmp_path / "x.qcow2", fmt="qcow2")


# convert


def test_convert_raw_to_qcow2_keeps_content(tmp_path: Path) -> None:
    """convert makes a qcow2 whose content compares identical to the source."""
    src, dst = images.make_raw(tmp_path), tmp_path / "out.qcow2"

    diskimage.convert(src, dst, src_fmt="raw", dst_fmt="qcow2")

    assert diskimage.info(dst, fmt="qcow2").format == "qcow2"
    assert diskimage.compare(src, dst, fmt_a="raw", fmt_b="qcow2") is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["disk.raw", "out.qcow2"]


@pytest.mark.parametrize("subformat", ["dynamic", "fixed"])
def test_convert_to_vhd_keeps_exact_size(tmp_path: Path, subformat: images.Subformat) -> None:
    """convert to VHD uses force_size=on, so the VHD's virtual size equals the source's."""
    src, dst = images.make_qcow2(tmp_path), tmp_path / "out.vhd"

    diskimage.convert(src, dst, src_fmt="qcow2", dst_fmt="vpc", vhd_subformat=subformat)

    footer = diskimage.detect_vhd(dst)
    assert footer is not None
    assert (footer.disk_type, footer.current_size) == (subformat, SIZE)
    assert diskimage.info(dst, fmt="vpc").virtual_size == SIZE
    assert diskimage.compare(src, dst, fmt_a="qcow2", fmt_b="vpc") is True


def test_convert_to_vpc_defaults_to_dynamic(tmp_path: Path) -> None:
    """convert to vpc without a subformat makes a dynamic VHD."""
    dst = tmp_path / "out.vhd"

    diskimage.convert(images.make_raw(tmp_path), dst, src_fmt="raw", dst_fmt="vpc")

    footer = diskimage.detect_vhd(dst)
    assert footer is not None
    assert footer.disk_type == "dynamic"


def test_convert_reports_increasing_progress(tmp_path: Path) -> None:
    """convert with a progress callback calls it with rising percentages ending at 100."""
    seen: list[float] = []

    diskimage.convert(
        images.make_raw(tmp_path, size=32 * images.MIB),
        tmp_path / "out.vhd",
        src_fmt="raw",
        dst_fmt="vpc",
        vhd_subformat="fixed",
        progress=seen.append,
    )

    assert len(seen) >= 2
    assert seen == sorted(set(seen))
    assert seen[0] >= 0.0
    assert seen[-1] == 100.0


def test_failed_convert_leaves_nothing(tmp_path: Path) -> None:
    """A convert qemu-img refuses raises QemuImgError and leaves no output or temp file."""
    src = images.make_not_an_image(tmp_path)

    with pytest.raises(QemuImgError) as caught:
        diskimage.convert(src, tmp_path / "out.vhd", src_fmt="qcow2", dst_fmt="vpc")

    assert caught.value.returncode == 1
    assert str(src) in str(caught.value)
    assert [p.name for p in tmp_path.iterdir()] == [src.name]


def test_convert_failing_midway_removes_partial_output(fake_qemu_img: Path, tmp_path: Path) -> None:
    """When qemu-img dies after writing part of the output, the partial file is removed."""
    write_script(
        fake_qemu_img, 'for last; do :; done; echo partial > "$last"; echo EIO >&2; exit 1'
    )

    with pytest.raises(QemuImgError, match="EIO"):
        diskimage.convert(tmp_path / "in", tmp_path / "out", src_fmt="raw", dst_fmt="qcow2")

    assert list(tmp_path.iterdir()) == [fake_qemu_img]


def test_failing_progress_callback_stops_convert_and_cleans_up(tmp_path: Path) -> None:
    """An exception from the progress callback propagates and leaves no output behind."""
    src = images.make_raw(tmp_path)

    def explode(percent: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        diskimage.convert(
            src, tmp_path / "o.qcow2", src_fmt="raw", dst_fmt="qcow2", progress=explode
        )

    assert [p.name for p in tmp_path.iterdir()] == [src.name]


def test_convert_rejects_vhd_subformat_for_other_formats(tmp_path: Path) -> None:
    """vhd_subformat with a non-VHD output is a programming mistake (ValueError)."""
    with pytest.raises(ValueError, match="vhd_subformat"):
        diskimage.convert(
            tmp_path / "a", tmp_path / "b", src_fmt="raw", dst_fmt="qcow2", vhd_subformat="fixed"
        )


def test_convert_always_passes_source_format(fake_qemu_img: Path, tmp_path: Path) -> None:
    """convert names the source format and the VHD options explicitly on the command line."""
    log = tmp_path / "args"
    write_script(fake_qemu_img, f'printf "%s\\n" "$@" > {log}; for last; do :; done; touch "$last"')

    diskimage.convert(
        tmp_path / "in", tmp_path / "out", src_fmt="raw", dst_fmt="vpc", vhd_subformat="fixed"
    )

    args = log.read_text().splitlines()
    assert args[:7] == ["convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size=on"]
    assert (tmp_path / "out").exists()


@pytest.mark.parametrize("flush", [True, False])
def test_convert_without_flush_skips_only_the_final_sync(
    fake_qemu_img: Path, tmp_path: Path, flush: bool
) -> None:
    """flush=False runs the real qemu-img with -t unsafe; the output is the same disk."""
    real = shutil.which("qemu-img")
    assert real is not None
    log = tmp_path / "args"
    write_script(fake_qemu_img, f'printf "%s\\n" "$*" >> {log}; exec {real} "$@"')
    src = images.make_raw(tmp_path)
    dst = tmp_path / "out.vhd"

    diskimage.convert(src, dst, src_fmt="raw", dst_fmt="vpc", flush=flush)

    assert (" -t unsafe " in log.read_text()) is not flush
    assert diskimage.compare(dst, src, fmt_a="vpc", fmt_b="raw")


# compare


def test_compare_identical_and_different(tmp_path: Path) -> None:
    """compare is True for a faithful copy and False once one byte differs."""
    a = images.make_raw(tmp_path)
    b = images.make_qcow2(tmp_path)  # other random bytes
    copy = tmp_path / "copy.qcow2"
    diskimage.convert(a, copy, src_fmt="raw", dst_fmt="qcow2")

    assert diskimage.compare(a, copy, fmt_a="raw", fmt_b="qcow2") is True
    assert diskimage.compare(a, b, fmt_a="raw", fmt_b="qcow2") is False
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 1 2M 1", str(copy)], check=True)
    assert diskimage.compare(a, copy, fmt_a="raw", fmt_b="qcow2") is False


def test_compare_size_mismatch_only_matters_when_strict(tmp_path: Path) -> None:
    """A larger image whose extra area is zero compares equal, but not in strict mode."""
    a = images.make_raw(tmp_path)
    big = tmp_path / "big.raw"
    big.write_bytes(a.read_bytes())
    os.truncate(big, SIZE + images.MIB)

    assert diskimage.compare(a, big, fmt_a="raw", fmt_b="raw") is True
    assert diskimage.compare(a, big, fmt_a="raw", fmt_b="raw", strict=True) is False


def test_compare_strict_also_compares_allocation(tmp_path: Path) -> None:
    """Strict compare fails on a faithful qcow2 copy of a sparse raw, as allocation differs."""
    a, copy = images.make_raw(tmp_path), tmp_path / "copy.qcow2"
    diskimage.convert(a, copy, src_fmt="raw", dst_fmt="qcow2")

    assert diskimage.compare(a, copy, fmt_a="raw", fmt_b="qcow2") is True
    assert diskimage.compare(a, copy, fmt_a="raw", fmt_b="qcow2", strict=True) is False


def test_compare_missing_file_raises(tmp_path: Path) -> None:
    """compare with a missing file (exit 2) raises QemuImgError naming it."""
    a = images.make_raw(tmp_path)

    with pytest.raises(QemuImgError) as caught:
        diskimage.compare(a, tmp_path / "gone.raw", fmt_a="raw", fmt_b="raw")

    assert caught.value.returncode == 2
    assert "gone.raw" in str(caught.value)


# detect_vhd


@pytest.mark.parametrize("subformat", ["dynamic", "fixed"])
def test_detect_vhd_reads_footer(tmp_path: Path, subformat: images.Subformat) -> None:
    """detect_vhd reads type, size, id and a valid checksum from qemu-made VHDs."""
    footer = diskimage.detect_vhd(images.make_vhd(tmp_path, subformat))

    assert footer is not None
    assert (footer.disk_type, footer.current_size, footer.checksum_ok) == (subformat, SIZE, True)
    assert footer.unique_id.int != 0


@pytest.mark.parametrize(
    "make",
    [images.make_raw, images.make_qcow2, images.make_not_an_image],
    ids=["raw", "qcow2", "text"],
)
def test_detect_vhd_none_for_other_files(tmp_path: Path, make: images.Factory) -> None:
    """detect_vhd returns None for files that carry no VHD cookie."""
    assert diskimage.detect_vhd(make(tmp_path)) is None


def test_detect_vhd_none_for_tiny_file(tmp_path: Path) -> None:
    """A file shorter than a footer is not a VHD."""
    path = tmp_path / "tiny"
    path.write_bytes(b"conectix")

    assert diskimage.detect_vhd(path) is None


def test_detect_vhd_differencing_and_zero_uuid(tmp_path: Path) -> None:
    """A footer patched to differencing with an all-zero id is read as such."""
    path = images.make_vhd_variant(tmp_path, disk_type="differencing", unique_id=uuid.UUID(int=0))

    footer = diskimage.detect_vhd(path)

    assert footer is not None
    assert (footer.disk_type, footer.unique_id, footer.checksum_ok) == (
        "differencing",
        uuid.UUID(int=0),
        True,
    )


def test_detect_vhd_bad_checksum(tmp_path: Path) -> None:
    """A footer changed without fixing its checksum is still read, with checksum_ok False."""
    new_id = uuid.uuid4()
    path = images.make_vhd_variant(tmp_path, unique_id=new_id, fix_checksum=False)

    footer = diskimage.detect_vhd(path)

    assert footer is not None
    assert (footer.unique_id, footer.checksum_ok) == (new_id, False)


def test_info_cannot_see_vhd_differencing(tmp_path: Path) -> None:
    """qemu reads a differencing VHD as standalone, with no backing file; only detect_vhd tells."""
    path = images.make_vhd_variant(tmp_path, disk_type="differencing")

    result = diskimage.info(path, fmt="vpc")

    assert (result.format, result.backing_filename) == ("vpc", None)
    footer = diskimage.detect_vhd(path)
    assert footer is not None
    assert footer.disk_type == "differencing"


def test_info_refuses_vhd_with_bad_checksum(tmp_path: Path) -> None:
    """qemu refuses a VHD whose footer checksum is wrong, and the error carries its reason."""
    path = images.make_vhd_variant(tmp_path, unique_id=uuid.uuid4(), fix_checksum=False)

    with pytest.raises(QemuImgError, match="Incorrect header checksum"):
        diskimage.info(path, fmt="vpc")


def test_detect_vhd_falls_back_to_header_copy(tmp_path: Path) -> None:
    """A dynamic VHD whose tail footer was cut off is still found through the copy at offset 0."""
    path = images.make_vhd(tmp_path, "dynamic")
    os.truncate(path, path.stat().st_size - 512)

    footer = diskimage.detect_vhd(path)

    assert footer is not None
    assert (footer.disk_type, footer.current_size) == ("dynamic", SIZE)


def test_detect_vhd_unknown_disk_type_raises(tmp_path: Path) -> None:
    """A VHD cookie with a disk type outside 2-4 is a DiskImageError that names the type."""
    path = images.make_vhd(tmp_path, "fixed")
    images.patch_vhd_footer(path, disk_type=5)

    with pytest.raises(DiskImageError, match="disk type 5"):
        diskimage.detect_vhd(path)


def test_detect_vhd_missing_file_raises(tmp_path: Path) -> None:
    """detect_vhd on a missing file raises DiskImageError naming the file."""
    with pytest.raises(DiskImageError, match=r"nope\.vhd"):
        diskimage.detect_vhd(tmp_path / "nope.vhd")


# finding and running qemu-img


def test_missing_qemu_img_names_qemu_utils(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no qemu-img to run, the error says to install Debian's qemu-utils."""
    monkeypatch.setenv(diskimage.QEMU_IMG_ENV, str(tmp_path / "no-such-qemu-img"))

    with pytest.raises(QemuImgError) as caught:
        diskimage.info(images.make_raw(tmp_path), fmt="raw")

    assert isinstance(caught.value, DiskImageError)
    assert "apt-get install qemu-utils" in str(caught.value)
    assert "no-such-qemu-img" in str(caught.value)


def test_missing_qemu_img_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the override and with qemu-img off PATH, the same hint is given."""
    monkeypatch.delenv(diskimage.QEMU_IMG_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(QemuImgError, match="qemu-utils"):
        diskimage.check(tmp_path / "x.qcow2", fmt="qcow2")


def test_override_binary_is_used(fake_qemu_img: Path, tmp_path: Path) -> None:
    """CLOUDIMAGES_QEMU_IMG picks the binary that runs, and arguments arrive unsplit."""
    log = tmp_path / "args"
    write_script(fake_qemu_img, f'printf "%s\\n" "$@" > {log}; exec qemu-img "$@"')
    path = images.make_raw(tmp_path, "name with spaces.raw")

    assert diskimage.info(path, fmt="raw").virtual_size == SIZE
    assert log.read_text().splitlines() == ["info", "-U", "--output=json", "-f", "raw", str(path)]


def test_unstartable_binary_becomes_qemu_img_error(fake_qemu_img: Path, tmp_path: Path) -> None:
    """An OSError while starting qemu-img (here: not a valid executable) becomes QemuImgError."""
    fake_qemu_img.write_bytes(b"\x00\x01 not an executable")
    fake_qemu_img.chmod(0o755)

    with pytest.raises(QemuImgError) as caught:
        diskimage.compare(tmp_path / "a", tmp_path / "b", fmt_a="raw", fmt_b="raw")

    assert caught.value.__cause__ is not None
    assert isinstance(caught.value.__cause__, OSError)
    assert caught.value.command[0] == str(fake_qemu_img)


def test_long_stderr_is_trimmed(fake_qemu_img: Path, tmp_path: Path) -> None:
    """A huge stderr is cut in the message but kept whole on the exception."""
    write_script(fake_qemu_img, "yes 'ERROR cluster 0 refcount=0' | head -n 3000 >&2; exit 1")

    with pytest.raises(QemuImgError) as caught:
        diskimage.check(tmp_path / "x.qcow2", fmt="qcow2")

    assert len(str(caught.value)) < 2500
    assert "more characters" in str(caught.value)
    assert caught.value.stderr.count("ERROR") == 3000
