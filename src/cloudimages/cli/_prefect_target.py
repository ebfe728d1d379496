"""Which Prefect API a command talks to, known without importing Prefect.

Prefect reads its settings from the environment, ``.env``, ``prefect.toml`` and
``pyproject.toml`` in the working directory, and the active profile in the
profiles file. Only Prefect knows how those combine, and importing it costs
about a second, so the answer is asked once, in a subprocess (this process
stays free of Prefect), and cached in the user's cache directory under a
fingerprint of every input: each ``PREFECT_*`` variable, the working directory
and those files, the profiles file Prefect read, the Python running. The cache
holds hashes and the answer only, never a variable's value or a secret. Any
change of an input asks again.

The answer is a URL, or none. With none, the CLI uses its own background
server (``_localserver``), unless ``CLOUDIMAGES_NO_SERVER=1`` (then Prefect's
temporary server per command, as before). Settings the fast path does not
reproduce (an API key or auth string set anywhere but the environment, custom
headers) leave block reads to Prefect's own client; TLS options (a CA file,
skipping verification) are kept and applied.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import ConfigurationError
from ._dirs import cache_dir, write_private

__all__ = ["NO_SERVER_ENV", "Resolved", "no_server", "resolve"]

NO_SERVER_ENV = "CLOUDIMAGES_NO_SERVER"
CACHE_FILE = "prefect-settings.json"
MAX_ENTRIES = 32
#: Variables besides ``PREFECT_*`` that Prefect's settings read (a default CA file).
ALSO_READ = frozenset({"SSL_CERT_FILE"})
#: Files in the working directory that Prefect's settings read.
LOCAL_FILES = (".env", "prefect.toml", "pyproject.toml")

_RESOLVER = """
import json
from prefect.settings import get_current_settings
s = get_current_settings()
api = s.api
print(json.dumps({
    "url": api.url,
    "key": api.key is not None,
    "auth_string": api.auth_string is not None,
    "insecure": api.tls_insecure_skip_verify,
    "cert_file": api.ssl_cert_file,
    "headers": bool(s.client.custom_headers),
    "profiles_path": str(s.profiles_path),
}))
"""


@dataclass(frozen=True)
class Resolved:
    """What Prefect's settings say about the API: its URL, and how to talk to it."""

    url: str | None
    fast: bool  # False: only Prefect's own client reproduces how to reach it
    profiles_path: str
    verify: str | bool = True  # TLS: a CA file (PREFECT_API_SSL_CERT_FILE), or False if skipped


def no_server() -> bool:
    """True when the user asked for Prefect's temporary servers instead of the background one."""
    return os.environ.get(NO_SERVER_ENV, "") not in ("", "0")


def resolve() -> Resolved:
    """Prefect's answer for this environment and directory: cached, else asked once."""
    key = _fingerprint()
    entries = _read_cache()
    found = entries.get(key)
    if found is not None:
        verify = found.get("verify", True)
        cached = Resolved(
            url=None if found["url"] is None else str(found["url"]),
            fast=bool(found["fast"]),
            profiles_path=str(found["profiles_path"]),
            verify=verify if isinstance(verify, bool) else str(verify),
        )
        if found.get("profiles") == _file_digest(Path(cached.profiles_path)):
            return cached
    answer = _ask_prefect()
    entries.pop(key, None)
    entries[key] = {**asdict(answer), "profiles": _file_digest(Path(answer.profiles_path))}
    _write_cache(dict(list(entries.items())[-MAX_ENTRIES:]))
    return answer


def _ask_prefect() -> Resolved:
    """Run Prefect's settings resolution in a subprocess (same environment and directory)."""
    done = subprocess.run(
        [sys.executable, "-c", _RESOLVER],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        msg = f"Prefect could not read its settings: {last}"
        raise ConfigurationError(msg)
    said = json.loads(done.stdout.strip().splitlines()[-1])
    from_env = {"PREFECT_API_KEY", "PREFECT_API_AUTH_STRING"} & set(os.environ)
    credentials_elsewhere = (said["key"] or said["auth_string"]) and not from_env
    fast = not (credentials_elsewhere or said["headers"])
    verify = False if said["insecure"] else (said["cert_file"] or True)
    return Resolved(url=said["url"], fast=fast, profiles_path=said["profiles_path"], verify=verify)


def _fingerprint() -> str:
    """A digest of every input of Prefect's settings (values hashed, never stored)."""
    digest = hashlib.sha256()
    for name in sorted(k for k in os.environ if k.startswith("PREFECT_") or k in ALSO_READ):
        digest.update(f"{name}={os.environ[name]}\0".encode())
    cwd = Path.cwd()
    digest.update(f"{sys.executable}\0{Path.home()}\0{cwd}\0".encode())
    for name in LOCAL_FILES:
        digest.update(f"{name}:{_file_digest(cwd / name)}\0".encode())
    return digest.hexdigest()


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return "-"


def _cache_path() -> Path:
    return cache_dir() / CACHE_FILE


def _read_cache() -> dict[str, dict[str, object]]:
    try:
        found = json.loads(_cache_path().read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _write_cache(entries: dict[str, dict[str, object]]) -> None:
    with contextlib.suppress(OSError):  # a read-only home still works, only slower
        write_private(_cache_path(), json.dumps(entries, indent=1))
