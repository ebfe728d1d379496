"""``cloudimages localcloud serve``: the local Rackspace-like cloud in the foreground."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from ._common import console, errors

app = typer.Typer(
    no_args_is_help=True, help="Run the local cloud (Rackspace and upstream OpenStack)."
)


@app.command("serve")
def localcloud_serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(help="Identity port; each region's services take the next ports. 0 = free."),
    ] = 5000,
    data_dir: Annotated[
        Path, typer.Option(help="Where state is kept; it survives restarts.")
    ] = Path(".cache/localcloud"),
    account: Annotated[
        list[str] | None,
        typer.Option(help="Extra account USERNAME:APIKEY[:REGION]; repeatable."),
    ] = None,
    region: Annotated[
        list[str] | None, typer.Option(help="Regions to serve (default DFW, IAD, ORD).")
    ] = None,
    openstack_region: Annotated[
        list[str] | None,
        typer.Option(
            help="Upstream-OpenStack regions (Keystone v3, Glance, Swift); repeatable."
            " Default RegionOne; 'none' for no such region."
        ),
    ] = None,
    openstack_user: Annotated[
        list[str] | None,
        typer.Option(help="Extra Keystone v3 user NAME:PASSWORD:PROJECT[:ROLE]; repeatable."),
    ] = None,
    token_lifetime: Annotated[float, typer.Option(help="Seconds a token stays valid.")] = 86400.0,
    faults: Annotated[
        str,
        typer.Option(
            help="Fault rules to inject from the start, e.g. 'files:*:PUT:*=503@0.1,retry_after=1'"
            " (see cloudimages.localcloud.faults).",
            envvar="CLOUDIMAGES_LOCALCLOUD_FAULTS",
        ),
    ] = "",
    task_processing_delay: Annotated[
        float, typer.Option(help="Extra seconds each import/export task spends processing.")
    ] = 0.0,
) -> None:
    """Serve Identity, Cloud Images and Cloud Files in the foreground (Ctrl-C stops)."""
    from ..localcloud import AccountSpec, LocalCloud, LocalCloudSettings
    from ..localcloud.settings import OpenStackUserSpec

    try:
        extra = [AccountSpec.parse(spec) for spec in account or []]
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--account") from None
    try:
        os_users = [OpenStackUserSpec.parse(spec) for spec in openstack_user or []]
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--openstack-user") from None
    fields: dict[str, object] = {
        "host": host,
        "port": port,
        "data_dir": data_dir,
        "accounts": extra,
        "token_lifetime": token_lifetime,
        "faults": faults,
        "task_processing_delay": task_processing_delay,
    }
    if region:
        fields["regions"] = tuple(region)
    if openstack_region:
        names = [r for r in openstack_region if r.lower() != "none"]
        fields["openstack_regions"] = tuple(names)
    fields["openstack_users"] = os_users
    try:
        settings = LocalCloudSettings(**fields)  # type: ignore[arg-type]
    except ValidationError as err:
        reasons = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in err.errors())
        raise typer.BadParameter(reasons) from None
    cloud = LocalCloud(settings)
    try:
        cloud._prepare()
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--faults") from None
    except OSError as err:
        errors.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None
    _print_cloud(cloud)
    cloud.serve_forever()


def _print_cloud(cloud: object) -> None:
    from ..localcloud import LocalCloud

    assert isinstance(cloud, LocalCloud)
    console.print(f"[bold]Identity[/bold]  {cloud.identity_url}  (POST /tokens)")
    table = Table("username", "api key", "tenant", "default region", title="Accounts")
    for acct in cloud.accounts:
        table.add_row(acct.username, acct.api_key, acct.tenant_id, acct.default_region)
    console.print(table)
    for endpoint in cloud.endpoints:
        console.print(
            f"{endpoint.region}: images {endpoint.images_url}"
            f"  files {endpoint.files_root}/v1/<MossoCloudFS_…>"
        )
    console.print(
        "Authenticate with: curl -s -X POST "
        f"{cloud.identity_url}/tokens -H 'Content-Type: application/json' "
        """-d '{"auth": {"RAX-KSKEY:apiKeyCredentials": """
        """{"username": "alice", "apiKey": "alice-api-key"}}}'"""
    )
    _print_openstack(cloud)
    console.print(f"State in {Path(cloud.settings.data_dir).resolve()}. Ctrl-C stops.")
    sys.stdout.flush()


def _print_openstack(cloud: object) -> None:
    """Keystone v3, its users and the upstream regions (nothing when there are none)."""
    from ..localcloud import LocalCloud

    assert isinstance(cloud, LocalCloud)
    services = cloud.services
    if services is None or services.keystone is None or not services.upstream:
        return
    console.print(f"[bold]Keystone v3[/bold]  {cloud.keystone_url}  (POST /auth/tokens)")
    table = Table("user", "password", "domain", "project", "roles", title="OpenStack users")
    directory = services.keystone.directory
    for (user_id, project_id), roles in directory.grants.items():
        user, project = directory.users[user_id], directory.projects[project_id]
        table.add_row(user.name, user.password, user.domain.name, project.name, ",".join(roles))
    console.print(table)
    for endpoint in services.keystone.views.endpoints:
        console.print(
            f"{endpoint.region}: image {endpoint.image_url}"
            f"  object-store {endpoint.files_root}/v1/AUTH_<project id>"
        )
