"""The CLI's edge: exit codes, one-line errors, --debug, and no Prefect import for --help."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cloudimages.cli import ExitCode, main
from cloudimages.cli._common import OPTIONS
from cloudimages.localcloud import LocalCloud
from tests.helpers.diskimages import make_qcow2
from tests.helpers.identity import login
from tests.helpers.scripted_server import Faults

from .helpers import Cli, error_line


def run_main(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        main(args)
    OPTIONS.debug = OPTIONS.verbose = False
    code = exited.value.code
    return code if isinstance(code, int) else 1


def not_a_prefect_api(cloud: LocalCloud) -> dict[str, str]:
    """An environment whose PREFECT_API_URL is a real server that is not Prefect."""
    return {"PREFECT_API_URL": cloud.identity_url.removesuffix("/v2.0") + "/api"}


def test_a_failed_import_task_is_exit_1(
    cli: Cli, cloud: LocalCloud, accounts: dict[str, str], tmp_path: Path
) -> None:
    """An import task that ends in failure is a CloudImagesError: exit 1, one line."""
    Faults.of(cloud.identity_url).add_task_outcome(
        task_type="import", outcome="failure", code="111", times=1
    )
    source = make_qcow2(tmp_path, "doomed.qcow2")

    result = cli.run("import", str(source), "--account", "alice", "--name", "doomed")

    line = error_line(result, code=ExitCode.ERROR)
    assert line.startswith("TaskFailed: ")
    assert "111" in line


def test_any_other_flow_failure_is_exit_3(cli: Cli, cloud: LocalCloud, tmp_path: Path) -> None:
    """A run Prefect cannot even start (its API URL is not Prefect's) is exit 3, one line."""
    source = make_qcow2(tmp_path, "unrun.qcow2")

    result = cli.run(
        "import", str(source), "--account", "alice", "--name", "n", env=not_a_prefect_api(cloud)
    )

    line = error_line(result, code=ExitCode.FLOW_FAILED)
    assert line.startswith("FlowRunFailed: ")


def test_interrupt_is_exit_130(
    cli: Cli, cloud: LocalCloud, accounts: dict[str, str], tmp_path: Path
) -> None:
    """Ctrl-C while a flow waits for its import task exits 130 without a traceback."""
    Faults.of(cloud.identity_url).add_task_outcome(task_type="import", outcome="stuck", times=1)
    source = make_qcow2(tmp_path, "interrupted.qcow2")
    alice = login(cloud.identity_url, "alice", "alice-api-key")
    tasks_url = f"{alice.endpoint('image', 'DFW')}/tasks"
    before = {t["id"] for t in httpx.get(tasks_url, headers=alice.headers).json()["tasks"]}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cloudimages.cli", "import", str(source),
         "--account", "alice", "--name", "interrupted"],
        env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            tasks = httpx.get(tasks_url, headers=alice.headers).json()["tasks"]
            if any(t["id"] not in before and t["status"] == "processing" for t in tasks):
                break
            time.sleep(0.2)
        else:
            pytest.fail("the import task never started")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert "Traceback" not in err


def test_debug_anywhere_shows_the_traceback(cli: Cli, cloud: LocalCloud, tmp_path: Path) -> None:
    """--debug after the command name works like before it."""
    source = make_qcow2(tmp_path, "debugged.qcow2")

    result = cli.run(
        "import", str(source), "--account", "alice", "--name", "n", "--debug",
        env=not_a_prefect_api(cloud),
    )  # fmt: skip

    assert result.returncode == ExitCode.FLOW_FAILED
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("FlowRunFailed: ")


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
