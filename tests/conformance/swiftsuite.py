"""Run Swift's own functional test suite (``test/functional`` of the Swift sdist) against a store.

The suite comes from the sdist of the same Swift version as the real-Swift harness
(``realswift.SWIFT_VERSION``) and runs under pytest in its own cached venv
(``requirements-swift-suite.txt``: Swift, pytest and python-keystoneclient, which
swiftclient needs for Identity v2.0).  It reads a ``test.conf``
naming three users: two account owners and a third user of the first account without admin
rights.  Results come back per test from pytest's JUnit XML.

It runs in the project venv and needs only the stdlib (and the harness modules beside it).

    python tests/conformance/swiftsuite.py   # install (or reuse) the suite venv and sdist
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

if str(Path(__file__).resolve().parent) not in sys.path:  # importable as tests.conformance.*
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness
from _harness import default_cache_dir
from realswift import SWIFT_VERSION  # the suite is the one of the Swift the harness runs

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements-swift-suite.txt"
SUITE_DIR = "test/functional"
# s3api is Swift's S3 emulation: Cloud Files has no S3 API, so that package is not run at all.
IGNORED = ("test/functional/s3api",)
OUTCOMES = ("passed", "failed", "error", "skipped")


@dataclass(frozen=True)
class Suite:
    """An installed suite: the venv that runs it and the unpacked sdist holding ``test/``."""

    venv: Path
    source: Path


@dataclass(frozen=True)
class User:
    """One of the suite's users: its account (tenant), name and key or password."""

    account: str
    username: str
    password: str


@dataclass(frozen=True)
class SuiteTarget:
    """Where the suite authenticates and as whom: owner, second owner, unprivileged user."""

    name: str
    auth_uri: str
    auth_version: str
    first: User
    second: User
    third: User

    def config(self) -> str:
        """The ``[func_test]`` section the suite reads (see ``test/sample.conf``)."""
        return (
            "[func_test]\n"
            f"auth_uri = {self.auth_uri}\n"
            f"auth_version = {self.auth_version}\n"
            f"account = {self.first.account}\nusername = {self.first.username}\n"
            f"password = {self.first.password}\n"
            f"account2 = {self.second.account}\nusername2 = {self.second.username}\n"
            f"password2 = {self.second.password}\n"
            f"username3 = {self.third.username}\npassword3 = {self.third.password}\n"
            "collate = C\n"
        )


def ensure_suite(cache_dir: Path) -> Suite:
    """The suite's venv and sdist under ``cache_dir/swift-suite-<ver>``: made once, reused."""
    root = Path(cache_dir).resolve() / f"swift-suite-{SWIFT_VERSION}"
    venv = _harness.ensure_venv(root, REQUIREMENTS, probe="bin/pytest")
    return Suite(venv=venv, source=_ensure_sdist(root, venv))


def _ensure_sdist(root: Path, venv: Path) -> Path:
    """Download Swift's sdist with pip and unpack only its ``test/`` tree."""
    source, marker = root / f"swift-{SWIFT_VERSION}", root / "sdist.ok"
    with (root / ".sdist.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.is_file() and (source / SUITE_DIR / "tests.py").is_file():
            return source
        marker.unlink(missing_ok=True)
        shutil.rmtree(source, ignore_errors=True)
        download = root / "download"
        cmd = [str(venv / "bin/pip"), "download", "-q", "--no-deps", "--no-binary", ":all:"]
        cmd += ["-d", str(download), f"swift=={SWIFT_VERSION}"]
        subprocess.run(cmd, check=True, capture_output=True)
        (tarball,) = download.glob(f"swift-{SWIFT_VERSION}.tar.gz")
        prefix = f"swift-{SWIFT_VERSION}/test/"
        with tarfile.open(tarball) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
            tar.extractall(root, members=members, filter="data")
        marker.write_text(f"swift {SWIFT_VERSION}\n")
    return source


def start_suite(suite: Suite, target: SuiteTarget, workdir: Path) -> subprocess.Popen[bytes]:
    """Start the whole suite against ``target`` in a subprocess; results go to ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "test.conf"
    config.write_text(target.config())
    env = {
        **os.environ,
        "SWIFT_TEST_CONFIG_FILE": str(config),
        "SWIFT_TEST_IN_PROCESS": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("PYTHONPATH", None)
    cmd = [
        str(suite.venv / "bin/python"),
        "-m",
        "pytest",
        SUITE_DIR,
        "-q",
        "-p",
        "no:cacheprovider",
    ]
    cmd += [f"--ignore={path}" for path in IGNORED]
    cmd += ["-o", "python_files=test_*.py tests.py"]
    cmd += ["-o", "addopts=", f"--junitxml={workdir / 'junit.xml'}", "-o", "junit_family=xunit1"]
    log = (workdir / "pytest.log").open("wb")
    with log:
        return subprocess.Popen(
            cmd,
            cwd=suite.source,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_suite(proc: subprocess.Popen[bytes], workdir: Path, timeout: float) -> dict[str, Result]:
    """Wait for a started suite (killing it after ``timeout`` s) and read its results."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _harness.terminate([proc], grace=5.0)
        raise
    junit = workdir / "junit.xml"
    if not junit.is_file():
        tail = "\n".join((workdir / "pytest.log").read_text(errors="replace").splitlines()[-30:])
        raise RuntimeError(f"the suite wrote no results (exit {proc.returncode}):\n{tail}")
    return read_junit(junit)


@dataclass(frozen=True)
class Result:
    """One test's outcome and, when it did not pass, the first line of why."""

    outcome: str
    message: str = ""


def read_junit(path: Path) -> dict[str, Result]:
    """``{"test_x.py::Class::test": Result}`` from pytest's JUnit XML."""
    results: dict[str, Result] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        file = case.get("file") or case.get("classname", "").replace(".", "/") + ".py"
        classname = case.get("classname", "").rsplit(".", 1)[-1]
        test_id = f"{Path(file).name}::{classname}::{case.get('name')}"
        results[test_id] = _outcome(case)
    return results


def _outcome(case: ET.Element) -> Result:
    for tag, outcome in (("error", "error"), ("failure", "failed"), ("skipped", "skipped")):
        node = case.find(tag)
        if node is not None:
            text = (node.get("message") or node.text or "").strip().splitlines()
            return Result(outcome, text[0][:300] if text else "")
    return Result("passed")


def per_file(results: dict[str, Result]) -> dict[str, Counter[str]]:
    """Outcome counts per test file, files in name order."""
    counts: dict[str, Counter[str]] = {}
    for test_id, result in sorted(results.items()):
        counts.setdefault(test_id.split("::", 1)[0], Counter())[result.outcome] += 1
    return counts


def main() -> None:
    """Install (or reuse) the suite and print where it is."""
    suite = ensure_suite(default_cache_dir())
    print(f"venv={suite.venv}\nsource={suite.source}")


if __name__ == "__main__":
    main()
