"""The CLI's edge: exit codes, one-line errors, --debug, and no Prefect import for --help."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import pytest

import cloudimages.cli.pipelines
from cloudimages.cli import ExitCode, main
from cloudimages.cli._common import OPTIONS
from cloudimages.errors import TaskFailed


def fake_flow(error: BaseException) -> Callable[..., Any]:
    def load(module: str, name: str) -> Callable[..., NoReturn]:
        def flow(**_: Any) -> NoReturn:
            raise error

        return flow

    return load


def run_main(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        main(args)
    OPTIONS.debug = OPTIONS.verbose = False
    code = exited.value.code
    return code if isinstance(code, int) else 1


@pytest.fixture
def disk(tmp_path: Path) -> Path:
    path = tmp_path / "disk.raw"
    path.write_bytes(b"\0" * 4096)
    return path


@pytest.mark.parametrize(
    ("error", "code", "prefix"),
    [
        (
            TaskFailed("import task t1 failed: bad VHD", task_id="t1"),
            ExitCode.ERROR,
            "TaskFailed: ",
        ),
        (RuntimeError("boom"), ExitCode.FLOW_FAILED, "FlowRunFailed: "),
    ],
)
def test_flow_failures_map_to_exit_codes(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    disk: Path,
    error: BaseException,
    code: int,
    prefix: str,
) -> None:
    """A CloudImagesError is exit 1; anything else from a flow is exit 3; one line each."""
    monkeypatch.setattr(cloudimages.cli.pipelines, "load_flow", fake_flow(error))
    assert run_main(["import", str(disk), "--account", "a", "--name", "n"]) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    [line] = err.strip().splitlines()
    assert line.startswith(prefix)
    assert str(error) in line


def test_interrupt_is_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], disk: Path
) -> None:
    """Ctrl-C during a flow exits 130 without a traceback."""
    monkeypatch.setattr(cloudimages.cli.pipelines, "load_flow", fake_flow(KeyboardInterrupt()))
    assert run_main(["import", str(disk), "--account", "a", "--name", "n"]) == 130
    assert "Traceback" not in capsys.readouterr().err


def test_debug_anywhere_shows_the_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], disk: Path
) -> None:
    """--debug after the command name works like before it."""
    monkeypatch.setattr(cloudimages.cli.pipelines, "load_flow", fake_flow(RuntimeError("boom")))
    assert run_main(["import", str(disk), "--account", "a", "--name", "n", "--debug"]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert err.strip().splitlines()[-1].startswith("FlowRunFailed: ")


def test_usage_errors_are_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """A missing required option is typer's usage error, exit 2."""
    assert run_main(["import", "x", "--account", "a"]) == ExitCode.USAGE
    assert "--name" in capsys.readouterr().err


def test_help_lists_the_exit_codes_and_imports_no_prefect() -> None:
    """`cloudimages --help` documents exit codes; help paths never import Prefect (~1 s)."""
    code = (
        "import sys\n"
        "from cloudimages.cli import main\n"
        "for args in (['--help'], ['images', 'list', '--help'], ['import', '--help']):\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit as done:\n"
        "        assert done.code == 0, done.code\n"
        "assert 'prefect' not in sys.modules, 'prefect was imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Exit codes" in result.stdout
    assert "130 interrupted" in result.stdout


def test_missing_file_never_starts_prefect(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A missing source file is reported before any flow is loaded."""
    assert run_main(["import", str(tmp_path / "nope"), "--account", "a", "--name", "n"]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("DiskImageError: ")
