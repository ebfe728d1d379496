"""Mechanical checks that keep the package's shape: small modules, one front door."""

from __future__ import annotations

import subprocess
import sys
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
