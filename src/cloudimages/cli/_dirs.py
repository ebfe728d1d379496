"""Where the CLI keeps its own files: the user's data and cache directories, private.

The XDG base directories (``$XDG_DATA_HOME``, ``$XDG_CACHE_HOME``), or
``CLOUDIMAGES_DATA_DIR`` for the data. Both are per user and made 0700; files
that name a secret or a server are written 0600, whole (a temporary file renamed).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["DATA_DIR_ENV", "cache_dir", "data_dir", "private_dir", "write_private"]

DATA_DIR_ENV = "CLOUDIMAGES_DATA_DIR"


def data_dir() -> Path:
    """``$CLOUDIMAGES_DATA_DIR``, else ``$XDG_DATA_HOME/cloudimages`` (~/.local/share)."""
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "cloudimages"


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/cloudimages`` (~/.cache/cloudimages): anything here may go."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cloudimages"


def private_dir(path: Path) -> Path:
    """``path``, created if needed, readable by this user only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``, mode 0600, never half-written."""
    private_dir(path.parent)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as f:  # mkstemp makes it 0600
            f.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
