"""How a command reaches Prefect: over REST with httpx, or through Prefect itself.

Commands that only read blocks (``images``, ``accept``, ``accounts list``) call
:func:`rest_api` and talk to Prefect's REST API with httpx: no Prefect import
(about a second saved). Commands that run flows or write Prefect objects call
:func:`connect` before they import Prefect. Both use the background server
(``_localserver``) when Prefect's settings name no API, and start it if it is
not running, with the crash detector installed (``cloudimages server setup``).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import cache

from rich.markup import escape

from . import _localserver
from ._common import errors
from ._prefect_target import no_server, resolve

__all__ = ["PrefectApi", "connect", "rest_api", "start_background_server"]


@dataclass(frozen=True)
class PrefectApi:
    """A Prefect REST API: its URL (ending in ``/api``) and the headers it wants."""

    url: str
    headers: dict[str, str]
    verify: str | bool = True


def rest_api() -> PrefectApi | None:
    """The API to read blocks from with httpx; None when only Prefect's client knows how."""
    found = _resolved_url()
    if found is None:
        return None
    url, fast, verify = found
    server = _localserver.recorded()
    if server is not None and url.rstrip("/") == server.api_url:
        return PrefectApi(url=server.api_url, headers=server.headers)
    if not fast:
        return None
    return PrefectApi(url=url.rstrip("/"), headers=_env_headers(), verify=verify)


def connect() -> None:
    """Before Prefect is imported: point it at the background server if nothing else is set."""
    found = _resolved_url()
    if found is None:
        return
    server = _localserver.recorded()
    if server is not None and found[0].rstrip("/") == server.api_url:
        os.environ.setdefault("PREFECT_API_AUTH_STRING", server.auth_string)


@cache
def _resolved_url() -> tuple[str, bool, str | bool] | None:
    """The API URL, whether httpx may talk to it alone, and how to verify TLS.

    None: Prefect's temporary server (``CLOUDIMAGES_NO_SERVER``).

    Cached for the process: once the background server is chosen, the
    environment names it, which must not look like a change of settings.
    """
    resolved = resolve()
    if resolved.url is not None:
        return resolved.url, resolved.fast, resolved.verify
    if no_server():
        return None
    server, _ = start_background_server(announce=True)
    return server.api_url, True, True


def start_background_server(*, announce: bool = False) -> tuple[_localserver.Server, bool]:
    """The running background server, started (and set up) first when there is none.

    Prefect, when this process imports it, is pointed at it. Returns whether it
    was started now; with ``announce`` a start is told on stderr.
    """
    if "prefect.context" in sys.modules:  # its settings are read once, at import
        msg = "the background server must be chosen before Prefect is imported"
        raise RuntimeError(msg)
    server, started = _localserver.ensure()
    os.environ["PREFECT_API_URL"] = server.api_url
    os.environ["PREFECT_API_AUTH_STRING"] = server.auth_string
    if started:
        if announce:
            errors.print(
                f"Started a Prefect server in the background at {escape(server.url)} (home"
                f" {escape(server.home)}); later commands reuse it,"
                " `cloudimages server stop` stops it.",
                highlight=False,
            )
        _set_up()
    return server, started


def _set_up() -> None:
    """What ``cloudimages server setup`` installs: the crash detector.

    A failure is a warning: the server works without it, and the command goes on.
    """
    from ._common import prefect_defaults

    prefect_defaults(connect=False, quiet=False)  # connected already; logging is the caller's
    from .crashes import ensure_crash_detection

    try:
        ensure_crash_detection()
    except Exception as err:  # any failure here is reported, not fatal
        errors.print(
            f"[yellow]warning:[/yellow] the crash detector was not installed ({escape(str(err))});"
            " run `cloudimages server setup`",
            highlight=False,
        )


def _env_headers() -> dict[str, str]:
    """Prefect's client headers from the environment: an auth string or an API key."""
    from base64 import b64encode

    auth = os.environ.get("PREFECT_API_AUTH_STRING")
    if auth:
        return {"Authorization": f"Basic {b64encode(auth.encode()).decode()}"}
    key = os.environ.get("PREFECT_API_KEY")
    return {"Authorization": f"Bearer {key}"} if key else {}
