"""Mechanical checks that keep the package's shape: small modules, one front door."""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import cloudimages
import cloudimages.client

SRC = Path(cloudimages.__file__).parent
MAX_MODULE_LINES = 400


def test_no_module_is_longer_than_400_lines() -> None:
    """Every module stays small enough to read in one sitting."""
    long = {
        str(path.relative_to(SRC)): n
        for path in SRC.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_public_names_are_sorted_and_complete() -> None:
    """`__all__` names every exception of the hierarchy and nothing private (ruff sorts it)."""
    from cloudimages import errors

    exported = cloudimages.__all__
    assert exported == sorted(exported)
    hierarchy = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.CloudImagesError)
    }
    assert hierarchy <= set(exported)
    assert len(set(cloudimages.client.__all__)) == len(cloudimages.client.__all__)
    assert all(hasattr(cloudimages.client, name) for name in cloudimages.client.__all__)
    assert all(not name.startswith("_") for name in exported)


def test_importing_the_client_does_not_import_prefect() -> None:
    """The client and the qemu-img wrapper stay fast to import: no Prefect behind them."""
    code = (
        "import sys, cloudimages, cloudimages.client, cloudimages.client.objects,"
        " cloudimages.diskimage; print('prefect' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def _contracts() -> list[dict[str, object]]:
    pyproject = SRC.parents[1] / "pyproject.toml"
    with pyproject.open("rb") as f:
        found: list[dict[str, object]] = tomllib.load(f)["tool"]["importlinter"]["contracts"]
    return found


def _named(contract: dict[str, object]) -> set[str]:
    names: set[str] = set()
    for key in ("layers", "modules", "source_modules"):
        for entry in contract.get(key, []):  # type: ignore[attr-defined]
            names.update(part.strip() for part in re.split(r"[|:]", str(entry)))
    return names


def test_every_module_is_inside_an_import_contract() -> None:
    """No module escapes import-linter: each is (under) a layer or a contracted package."""
    covered = set().union(*(_named(c) for c in _contracts()))
    modules = [m.name for m in pkgutil.walk_packages(cloudimages.__path__, "cloudimages.")]
    outside = [m for m in modules if not any(m == c or m.startswith(f"{c}.") for c in covered)]
    assert len(modules) > 80
    assert outside == []


def test_every_flow_is_in_the_no_flow_imports_a_flow_contract() -> None:
    """A new pipeline module joins the independence contract of the flows."""
    import cloudimages.flows

    flows = {
        f"cloudimages.flows.{m.name}"
        for m in pkgutil.iter_modules(cloudimages.flows.__path__)
        if not m.name.startswith("_")
    }
    [independent] = [c for c in _contracts() if str(c["name"]).startswith("No flow imports")]
    assert flows == set(independent["modules"])  # type: ignore[call-overload]
