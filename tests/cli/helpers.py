"""Run ``python -m cloudimages.cli`` in a subprocess and read what it printed."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Result = subprocess.CompletedProcess[str]


@dataclass(frozen=True)
class Cli:
    """The CLI with a fixed environment (Prefect API, home); ``identity_url`` of the cloud."""

    env: dict[str, str]
    identity_url: str

    def run(
        self,
        *args: str,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Result:
        """Run one command; stdin is empty unless given."""
        return subprocess.run(
            [sys.executable, "-m", "cloudimages.cli", *args],
            env={**self.env, **(env or {})},
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
            cwd=cwd,
        )

    def without(self, *names: str, **extra: str) -> Cli:
        """The same CLI with these variables removed from its environment (and ``extra`` set)."""
        env = {k: v for k, v in self.env.items() if k not in names} | extra
        return Cli(env=env, identity_url=self.identity_url)

    def ok(self, *args: str, **kwargs: Any) -> Result:
        """Run a command that must exit 0."""
        result = self.run(*args, **kwargs)
        assert result.returncode == 0, describe(result)
        return result

    def json(self, *args: str, **kwargs: Any) -> dict[str, Any]:
        """Run a command with ``--json``; it must exit 0 and print one JSON object."""
        result = self.ok(*args, "--json", **kwargs)
        data = json.loads(result.stdout)
        assert isinstance(data, dict), result.stdout
        return data


def describe(result: Result) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def error_line(result: Result, *, code: int = 1) -> str:
    """The one error line of a failed command: ``TypeName: message``, no traceback."""
    assert result.returncode == code, describe(result)
    assert "Traceback" not in result.stderr, describe(result)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if ": " in line and not line.startswith("warning:")]
    assert len(errors) == 1, describe(result)
    assert lines[-1] == errors[0], describe(result)
    return errors[0]


#: Runs the CLI like ``python -m cloudimages.cli``, then writes which prefect modules it loaded.
PROBE = """
import atexit, json, sys
out, args = sys.argv[1], sys.argv[2:]
def tell():
    with open(out, "w") as f:
        json.dump(sorted(m for m in sys.modules if m.split(".")[0] == "prefect"), f)
atexit.register(tell)
from cloudimages.cli import main
main(args)
"""


def prefect_modules(cli: Cli, tmp_path: Path, *args: str) -> list[str]:
    """Run one command (it must exit 0); the Prefect modules it imported."""
    out = tmp_path / "modules.json"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *args],
        env=cli.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, describe(result)
    found: list[str] = json.loads(out.read_text())
    return found
