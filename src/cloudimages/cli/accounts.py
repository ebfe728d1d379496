"""``cloudimages accounts``: save, list and remove account blocks.

An account block (``CloudImagesAccount``) holds a username, an API key
(stored encrypted by Prefect, never printed), a region and an Identity URL.
Pipelines take block names, never keys.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import click
import typer
from pydantic import SecretStr
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from ..blocks import AccountBlock

from ..errors import ConfigurationError
from . import _blocks
from ._common import ExitCode, JsonFlag, console, prefect_defaults, print_json

app = typer.Typer(no_args_is_help=True, help="Save, list and remove account blocks.")

API_KEY_ENV = "CLOUDIMAGES_API_KEY"
PASSWORD_ENV = "CLOUDIMAGES_PASSWORD"
APP_SECRET_ENV = "CLOUDIMAGES_APPLICATION_CREDENTIAL_SECRET"


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
    username: Annotated[
        str | None, typer.Option(help="The account's user name.", show_default=False)
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(
            help="Region to work in (default: the account's default region).", show_default=False
        ),
    ] = None,
    identity_url: Annotated[
        str | None,
        typer.Option(
            help="Rackspace: Identity v2.0 URL (default: Rackspace's); a local cloud's to dry-run.",
            show_default=False,
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            help=f"Rackspace: the API key; else ${API_KEY_ENV}, else a hidden prompt.",
            envvar=API_KEY_ENV,
            show_envvar=False,
            show_default=False,
        ),
    ] = None,
    cloud: Annotated[
        str | None,
        typer.Option(
            help="OpenStack: an entry of your clouds.yaml (read as openstacksdk reads it).",
            show_default=False,
        ),
    ] = None,
    auth_url: Annotated[
        str | None, typer.Option(help="OpenStack: Keystone's URL.", show_default=False)
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            help=f"OpenStack: the user's password; else ${PASSWORD_ENV}, else a hidden prompt.",
            envvar=PASSWORD_ENV,
            show_envvar=False,
            show_default=False,
        ),
    ] = None,
    project_name: Annotated[
        str | None, typer.Option(help="OpenStack: the project.", show_default=False)
    ] = None,
    project_id: Annotated[
        str | None, typer.Option(help="OpenStack: or the project's id.", show_default=False)
    ] = None,
    user_domain: Annotated[
        str | None, typer.Option(help="OpenStack: the user's domain (Default).", show_default=False)
    ] = None,
    project_domain: Annotated[
        str | None,
        typer.Option(help="OpenStack: the project's domain (Default).", show_default=False),
    ] = None,
    application_credential_id: Annotated[
        str | None,
        typer.Option(help="OpenStack: an application credential, instead of a user."),
    ] = None,
    application_credential_secret: Annotated[
        str | None,
        typer.Option(
            help=f"OpenStack: its secret; else ${APP_SECRET_ENV}.",
            envvar=APP_SECRET_ENV,
            show_envvar=False,
            show_default=False,
        ),
    ] = None,
    interface: Annotated[
        str | None, typer.Option(help="OpenStack: public, internal or admin URLs.")
    ] = None,
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help="Log in once before saving.")
    ] = True,
    overwrite: Annotated[bool, typer.Option(help="Replace a block of the same name.")] = False,
    internal: Annotated[
        bool, typer.Option(help="Rackspace: Cloud Files' ServiceNet URLs (inside Rackspace).")
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Save an account as a block, after checking that it logs in.

    Rackspace: --username, --region and the API key. An OpenStack cloud (Keystone
    v3): --cloud ENTRY from clouds.yaml, or --auth-url with a user and password or an
    application credential (options win over the entry). Secrets are never printed.
    Exit codes: 0 saved; 1 refused login, unknown region or cloud entry, or an
    existing block (without --overwrite); 2 usage; 130 interrupted.
    """
    if not overwrite:
        _blocks.refuse_existing(name)
    prefect_defaults()  # before a block class imports Prefect: it must know which API
    if cloud or auth_url:
        options = {
            "auth_url": auth_url,
            "username": username,
            "password": password,
            "project_name": project_name,
            "project_id": project_id,
            "user_domain_name": user_domain,
            "project_domain_name": project_domain,
            "application_credential_id": application_credential_id,
            "application_credential_secret": application_credential_secret,
            "region": region,
            "interface": interface,
        }
        block = _openstack_block(cloud, options)
    else:
        block = _rackspace_block(username, api_key, region, identity_url, internal=internal)
    found = _verify(block) if verify else {}
    _blocks.save_account(block, name)
    described = _describe(block)
    if json_output:
        print_json({"name": name, **described, "verified": verify, **found})
        return
    checked = f", logged in as {found['tenant_id']}" if verify else ", not verified"
    where = escape(str(described["where"]))
    console.print(f"Saved account block [bold]{escape(name)}[/bold] ({where}{checked}).")


def _rackspace_block(
    username: str | None,
    api_key: str | None,
    region: str | None,
    identity_url: str | None,
    *,
    internal: bool,
) -> AccountBlock:
    if not username:
        msg = "--username is needed (or --cloud / --auth-url for an OpenStack cloud)"
        raise typer.BadParameter(msg, param_hint="--username")
    from ..blocks import CloudImagesAccount

    fields: dict[str, object] = {
        "username": username,
        "api_key": SecretStr(_read_secret(api_key, "API key", "--api-key", API_KEY_ENV)),
        "region": region.upper() if region else None,
        "use_internal_url": internal,
    }
    if identity_url:
        fields["identity_url"] = identity_url
    return CloudImagesAccount(**fields)  # type: ignore[arg-type]


def _openstack_block(entry: str | None, options: dict[str, str | None]) -> AccountBlock:
    from ..blocks import OpenStackAccount
    from ._openstack import block_fields, from_clouds_yaml

    fields: dict[str, object] = from_clouds_yaml(entry) if entry else {}
    fields.update({k: v for k, v in options.items() if v is not None})
    if fields.get("username") and not fields.get("password"):
        fields["password"] = _read_secret(None, "Password", "--password", PASSWORD_ENV)
    source = f"cloud {entry!r} of clouds.yaml" if entry else "the options"
    return OpenStackAccount(**block_fields(fields, source=source))


def _describe(block: object) -> dict[str, str | None]:
    """What the saved block is, without secrets."""
    from ..blocks import CloudImagesAccount, OpenStackAccount

    if isinstance(block, CloudImagesAccount):
        return {
            "kind": "rackspace",
            "username": block.username,
            "region": block.region,
            "identity_url": block.identity_url,
            "where": f"{block.username} at {block.identity_url}",
        }
    assert isinstance(block, OpenStackAccount)
    who = block.username or f"application credential {block.application_credential_id}"
    return {
        "kind": "openstack",
        "username": block.username,
        "region": block.region,
        "auth_url": block.auth_url,
        "where": f"{who} at {block.auth_url}",
    }


def _read_secret(given: str | None, what: str, option: str, env: str) -> str:
    """The secret from the option or variable; else a hidden prompt, or one line of stdin."""
    if given:
        return given
    if sys.stdin.isatty():
        try:
            answer = typer.prompt(what, hide_input=True)
        except click.exceptions.Abort:
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        return str(answer).strip()
    line = sys.stdin.readline().strip()
    if not line:
        msg = f"no {what} given: pass {option}, set {env}, or type it at the prompt"
        raise typer.BadParameter(msg, param_hint=option)
    return line


def _verify(block: AccountBlock) -> dict[str, str]:
    """Log in once and check the region has an image service; returns the account and region."""
    cloud = block.cloud()
    cloud.images.base_url  # noqa: B018  refused login -> Unauthorized; unknown region -> Configuration
    return {"tenant_id": cloud.member_id, "region": cloud.region}


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
