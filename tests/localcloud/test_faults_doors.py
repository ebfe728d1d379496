"""A bad fault spec is refused the same way at each door: --faults, the environment, admin API.

``cloudimages localcloud serve`` runs in a subprocess (it exits before serving
when the spec is refused); the admin API runs on a started local cloud.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from cloudimages.localcloud import LocalCloud
from tests.helpers.identity import login

BAD_SPECS = {
    "task:import=failure:396@0.15@x": "rate: Input should be a valid number",
    "task:import=failure:39x@0.15": "code: String should match pattern",
    "task:import=failure:396,times=-1": "times: Input should be greater than or equal to 1",
    "imagez:DFW=503": "unknown service 'imagez:DFW'",
    "files:DFW:PUTT=reset": "unknown method 'PUTT'",
}


def serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run ``cloudimages localcloud serve``; (exit code, stderr on one line)."""
    exe = shutil.which("cloudimages", path=str(Path(sys.executable).parent))
    assert exe is not None
    done = subprocess.run(
        [exe, "localcloud", "serve", "--data-dir", str(tmp_path / "lc"), "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "1000", **(env or {})},
        check=False,
    )
    text = " ".join(line.strip(" │╭╮╰╯─") for line in done.stderr.splitlines())
    return done.returncode, " ".join(text.split())


@pytest.mark.parametrize("spec", sorted(BAD_SPECS))
def test_the_cli_refuses_a_bad_spec_before_serving(tmp_path: Path, spec: str) -> None:
    """--faults with a bad part exits 2, naming the part and the accepted form."""
    code, stderr = serve(tmp_path, "--faults", spec)

    assert code == 2
    assert "Invalid value for --faults: fault spec entry 1" in stderr
    assert BAD_SPECS[spec] in stderr
    assert "Accepted form: " in stderr


def test_the_environment_variable_is_refused_the_same_way(tmp_path: Path) -> None:
    """CLOUDIMAGES_LOCALCLOUD_FAULTS goes through the same strict grammar."""
    spec = "task:import=failure:396@0.15@x"

    code, stderr = serve(tmp_path, env={"CLOUDIMAGES_LOCALCLOUD_FAULTS": spec})

    assert code == 2
    assert BAD_SPECS[spec] in stderr


@pytest.mark.parametrize(
    ("path", "body", "complaint"),
    [
        ("/tasks", {"task_type": "import", "code": "396@0.15"}, "String should match pattern"),
        ("/tasks", {"code": "396", "rate": 1.5}, "rate: Input should be less than or equal to 1"),
        ("/tasks", {"code": "396", "times": -1}, "times: Input should be greater than or equal"),
        ("", {"service": "imagez:DFW"}, "unknown service 'imagez:DFW'"),
        ("", {"method": "PUTT"}, "unknown method 'PUTT'"),
        ("", {"action": "explode"}, "action"),
    ],
)
def test_the_admin_api_answers_400_with_the_reason(
    cloud: LocalCloud, path: str, body: dict[str, object], complaint: str
) -> None:
    """A running local cloud's admin API refuses the same mistakes with 400, never 500."""
    admin = login(cloud.identity_url, "admin", "admin-api-key")
    url = cloud.identity_url.removesuffix("/v2.0") + "/admin/faults" + path

    response = httpx.post(url, json=body, headers=admin.headers)

    assert response.status_code == 400
    assert complaint in response.json()["badRequest"]["message"]
    listed = httpx.get(
        cloud.identity_url.removesuffix("/v2.0") + "/admin/faults", headers=admin.headers
    )
    assert listed.json() == {"faults": [], "task_outcomes": []}
