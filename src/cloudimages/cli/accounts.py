"""``cloudimages accounts``: save, list and remove account blocks.

An account block (``CloudImagesAccount``) holds a username, an API key
(stored encrypted by Prefect, never printed), a region and an Identity URL.
Pipelines take block names, never keys.
"""

from __future__ import annotations

import sys
from typing import Annotated

import click
import typer
from pydantic import SecretStr
from rich.markup import escape
from rich.table import Table

from ..errors import ConfigurationError
from . import _blocks
from ._common import ExitCode, JsonFlag, console, prefect_defaults, print_json

app = typer.Typer(no_args_is_help=True, help="Save, list and remove account blocks.")

API_KEY_ENV = "CLOUDIMAGES_API_KEY"


def _block_name(name: str) -> str:
    try:
        return _blocks.check_block_name(name)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None


@app.command("add")
def add(
    name: Annotated[
        str,
        typer.Argument(
            help="Block name to save the account as (lowercase letters, digits, dashes).",
            metavar="NAME",
            callback=_block_name,
            show_default=False,
        ),
    ],
    username: Annotated[str, typer.Option(help="The account's username.", show_default=False)],
    region: Annotated[
        str | None,
        typer.Option(
            help="Region to work in (default: the account's default region).", show_default=False
        ),
    ] = None,
    identity_url: Annotated[
        str | None,
        typer.Option(
            help="Identity v2.0 URL (default: Rackspace's); a local cloud's to dry-run.",
            show_default=False,
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            help=f"The API key; else ${API_KEY_ENV}, else a hidden prompt (or one line on stdin).",
            envvar=API_KEY_ENV,
            show_envvar=False,
            show_default=False,
        ),
    ] = None,
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help="Log in once before saving.")
    ] = True,
    overwrite: Annotated[bool, typer.Option(help="Replace a block of the same name.")] = False,
    internal: Annotated[
        bool, typer.Option(help="Use Cloud Files' ServiceNet URLs (inside Rackspace only).")
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Save an account as a block, after checking that its API key logs in.

    The key is never printed. Exit codes: 0 saved; 1 refused key, unknown region
    or existing block (without --overwrite); 2 usage; 130 interrupted.
    """
    if not overwrite:
        _blocks.refuse_existing(name)
    key = _read_api_key(api_key)
    prefect_defaults()  # before the block class imports Prefect: it must know which API
    from ..blocks import CloudImagesAccount

    fields: dict[str, object] = {
        "username": username,
        "api_key": SecretStr(key),
        "region": region.upper() if region else None,
        "use_internal_url": internal,
    }
    if identity_url:
        fields["identity_url"] = identity_url
    block = CloudImagesAccount(**fields)  # type: ignore[arg-type]
    found = _verify(block) if verify else {}
    _blocks.save_account(block, name)
    summary = {
        "name": name,
        "username": username,
        "region": block.region,
        "identity_url": block.identity_url,
        "verified": verify,
        **found,
    }
    if json_output:
        print_json(summary)
        return
    checked = f", logged in as tenant {found['tenant_id']}" if verify else ", not verified"
    console.print(
        f"Saved account block [bold]{escape(name)}[/bold] "
        f"({escape(username)} at {escape(block.identity_url)}{checked})."
    )


def _read_api_key(given: str | None) -> str:
    """The key from the option or variable; else a hidden prompt, or one line of stdin."""
    if given:
        return given
    if sys.stdin.isatty():
        try:
            answer = typer.prompt("API key", hide_input=True)
        except click.exceptions.Abort:
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        return str(answer).strip()
    line = sys.stdin.readline().strip()
    if not line:
        msg = f"no API key given: pass --api-key, set {API_KEY_ENV}, or type it at the prompt"
        raise typer.BadParameter(msg, param_hint="--api-key")
    return line


def _verify(block: object) -> dict[str, str]:
    """Log in once and check the region has Cloud Images; returns tenant and region."""
    from ..blocks import CloudImagesAccount
    from ..client import AccountSession

    assert isinstance(block, CloudImagesAccount)
    with AccountSession(block.credentials()) as session:
        session.endpoint("image")  # refused key -> Unauthorized; unknown region -> Configuration
        return {"tenant_id": session.tenant_id, "region": session.region}


@app.command("list")
def list_(json_output: JsonFlag = False) -> None:
    """List the saved account blocks: name, username, region, Identity URL (never keys)."""
    rows = _blocks.list_accounts()
    if json_output:
        print_json({"accounts": rows})
        return
    if not rows:
        console.print("No account blocks yet; add one with `cloudimages accounts add`.")
        return
    table = Table("name", "username", "region", "identity URL", title="Accounts")
    for row in rows:
        table.add_row(
            *(escape(str(row.get(k) or "")) for k in ("name", "username", "region", "identity_url"))
        )
    console.print(table)


@app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="Block name to delete.")]) -> None:
    """Delete an account block (the cloud account itself is untouched)."""
    _blocks.delete_account(name)
    console.print(f"Removed account block [bold]{escape(name)}[/bold].")


@app.command("limit")
def limit(
    runs: Annotated[
        int, typer.Argument(min=1, help="Runs allowed to work on each account at once.")
    ],
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Account blocks (default: every saved one).", show_default=False),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Set per-account concurrency limits (cloudimages-account-<block>) on the Prefect server.

    Replication holds one slot of its target account's limit while it works on
    it, across every worker and served process of this Prefect server.
    """
    prefect_defaults()
    from .deployments import ensure_account_limits, saved_account_names

    with _blocks.prefect_api():
        chosen = names or saved_account_names()
        if not chosen:
            msg = "no account blocks are saved; add one with `cloudimages accounts add`"
            raise ConfigurationError(msg)
        created = ensure_account_limits(chosen, runs)
    if json_output:
        print_json({"limits": dict.fromkeys(created, runs)})
        return
    for name in created:
        console.print(f"{escape(name)}: limit {runs}")
