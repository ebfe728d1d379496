"""Bad sync input: one clear error naming the spec's field and line, and nothing changed."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from cloudimages.errors import ChecksumMismatch, CloudImagesError, ConfigurationError
from tests.helpers.diskimages import make_qcow2
from tests.pipelines.sync_support import (
    TARGET_KEYS,
    TARGETS,
    managed,
    sha256_of,
    staged_leftovers,
    sync,
    write_spec,
)


def entry(tmp_path: Path, name: str, **more: Any) -> dict[str, Any]:
    disk = make_qcow2(tmp_path, f"{name}.qcow2")
    found = {"name": name, "version": "1", "source": {"file": disk.name}}
    return {**found, "checksum": sha256_of(disk), **more}


def nothing_changed(catalog: str) -> None:
    for account, region in TARGET_KEYS:
        assert managed(account, region, catalog) == []
        assert staged_leftovers(account, region) == []


def line_of(spec: Path, text: str, occurrence: int = 0) -> int:
    """The 1-based line of the ``occurrence``-th line holding ``text``."""
    found = [n for n, line in enumerate(spec.read_text().splitlines(), 1) if text in line]
    return found[occurrence]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unknown_account_block_names_its_line(tmp_path: Path) -> None:
    """A target block that does not exist stops the run before anything changes."""
    targets = [*TARGETS, {"account": "nobody", "regions": ["DFW"]}]
    spec = write_spec(
        tmp_path / "s.yaml",
        {"catalog": "bad-block", "targets": targets, "images": [entry(tmp_path, "a")]},
    )

    with pytest.raises(ConfigurationError) as caught:
        sync(spec)

    said = str(caught.value)
    line = line_of(spec, "account: nobody")
    assert said.startswith(f"targets[2].account (line {line} of {spec}): 'nobody' in DFW:")
    assert "no account block named 'nobody'" in said
    nothing_changed("bad-block")


def test_unknown_consumer_block_names_its_line(tmp_path: Path) -> None:
    """A consumer block that does not exist is refused the same way."""
    spec = write_spec(
        tmp_path / "s.yaml",
        {
            "catalog": "bad-consumer",
            "targets": TARGETS,
            "shares": [{"account": "bob"}, {"account": "nobody"}],
            "images": [entry(tmp_path, "a")],
        },
    )

    line = line_of(spec, "account: nobody")
    with pytest.raises(ConfigurationError, match=rf"^shares\[1\]\.account \(line {line} of "):
        sync(spec)
    nothing_changed("bad-consumer")


def test_checksum_mismatch_uploads_nothing_anywhere(tmp_path: Path) -> None:
    """One source that does not hash to its checksum: no target gets any image."""
    wrong = entry(tmp_path, "wrong", checksum="sha256:" + "ab" * 32)
    spec = write_spec(
        tmp_path / "s.yaml",
        {"catalog": "bad-sum", "targets": TARGETS, "images": [entry(tmp_path, "ok"), wrong]},
    )

    with pytest.raises(ChecksumMismatch) as caught:
        sync(spec)

    said = str(caught.value)
    assert said.startswith(f"images[1].source (line {line_of(spec, 'source:', 1)} of {spec}): ")
    assert "but the spec expects abab" in said
    assert "Nothing was uploaded anywhere" in said
    nothing_changed("bad-sum")


def test_unreachable_checksum_url_names_its_line(tmp_path: Path) -> None:
    """A checksum file that cannot be read stops plan and apply alike, changing nothing."""
    url = f"http://127.0.0.1:{closed_port()}/SHA256SUMS"
    spec = write_spec(
        tmp_path / "s.yaml",
        {"catalog": "bad-url", "targets": TARGETS, "images": [entry(tmp_path, "a", checksum=url)]},
    )

    for mode in ("plan", "apply"):
        with pytest.raises(ConfigurationError) as caught:
            sync(spec, mode=mode)
        said = str(caught.value)
        line = line_of(spec, "checksum:")
        assert said.startswith(f"images[0].checksum (line {line} of {spec}): cannot read the")
        assert said.endswith("Nothing was changed.")
    nothing_changed("bad-url")


def test_checksum_file_without_the_source(tmp_path: Path, http_files: tuple[Path, str]) -> None:
    """A checksum file that lists other files only is refused, naming what it lists."""
    served, url = http_files
    (served / "SHA256SUMS").write_text(f"{'1' * 64}  one.img\n{'2' * 64}  two.img\n")
    spec = write_spec(
        tmp_path / "s.yaml",
        {
            "catalog": "bad-sums",
            "targets": TARGETS,
            "images": [entry(tmp_path, "a", checksum=f"{url}/SHA256SUMS")],
        },
    )

    with pytest.raises(ConfigurationError, match=r"has no sha256 for 'a\.qcow2'.*'one\.img'"):
        sync(spec, mode="plan")


def test_bad_spec_is_refused_with_every_line(tmp_path: Path) -> None:
    """A misspelt field is refused in the flow too, with the field it left missing."""
    image = entry(tmp_path, "dup")
    spec = write_spec(
        tmp_path / "s.yaml",
        {"catalog": "bad-spec", "targets": [{"acount": "alice"}], "images": [image]},
    )

    with pytest.raises(ConfigurationError) as caught:
        sync(spec, mode="plan")

    said = str(caught.value)
    line = line_of(spec, "acount")
    assert f"targets[0].acount (line {line}): unknown field" in said
    assert f"targets[0].account (line {line}): missing" in said


def test_drift_only_run_fails_when_apply_would_change(tmp_path: Path) -> None:
    """plan with fail_on_drift (the drift deployment) fails with its report; nothing changes."""
    spec = write_spec(
        tmp_path / "s.yaml",
        {"catalog": "drift-only", "targets": TARGETS, "images": [entry(tmp_path, "a")]},
    )

    with pytest.raises(
        CloudImagesError, match="catalogue 'drift-only' has drifted: 4 change"
    ) as caught:
        sync(spec, mode="plan", fail_on_drift=True)

    report = caught.value.report  # type: ignore[attr-defined]
    assert [row.drift for row in report.rows] == [["version 1 is missing"]] * 4
    nothing_changed("drift-only")
