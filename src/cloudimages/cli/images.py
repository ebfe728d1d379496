"""``cloudimages images list/show`` and ``cloudimages accept``: direct client calls.

These commands talk to Cloud Images with the account block's client; no flow
runs and no Prefect import (the block is read over Prefect's REST API), so they
take about as long as the HTTP calls.
"""

from __future__ import annotations

from itertools import islice
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from ..errors import ApiError
from . import _blocks
from ._common import (
    AccountOption,
    JsonFlag,
    RegionOption,
    console,
    human_size,
    key_value_table,
    print_json,
)

if TYPE_CHECKING:
    from ..client import Image, ImagesClient

app = typer.Typer(no_args_is_help=True, help="List and inspect images (no flow run).")

Visibility = Literal["public", "private", "shared"]
MemberStatusFilter = Literal["pending", "accepted", "rejected", "all"]


def images_client(account: str, region: str | None) -> ImagesClient:
    """The Cloud Images client of the account block ``account``."""
    return _blocks.images_client(account, region.upper() if region else None)


def image_json(image: Image) -> dict[str, Any]:
    """An image as served: fields and custom properties, links left out."""
    return image.model_dump(mode="json", exclude={"self_link", "file_link", "schema_link"})


@app.command("list")
def list_images(
    account: AccountOption,
    region: RegionOption = None,
    visibility: Annotated[
        Visibility | None, typer.Option(help="Only public, private or shared images.")
    ] = None,
    member_status: Annotated[
        MemberStatusFilter | None,
        typer.Option(help="With --visibility shared: offers in this state (default accepted)."),
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option(help="Only images with this tag; repeat for all of them.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Only images with exactly this name.")] = None,
    status: Annotated[str | None, typer.Option(help="Only images in this status.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Show at most this many.")] = None,
    json_output: JsonFlag = False,
) -> None:
    """List the images an account can see, newest first."""
    client = images_client(account, region)
    found = client.list_images(
        visibility=visibility,
        member_status=member_status,
        tags=tag or (),
        name=name,
        status=status,
        sort_key="created_at",
        sort_dir="desc",
    )
    images = list(islice(found, limit))
    if json_output:
        print_json({"region": client.region, "images": [image_json(i) for i in images]})
        return
    table = Table(
        title=f"Images of {account} in {client.region}", title_justify="left", box=box.SIMPLE
    )
    table.add_column("id", no_wrap=True, min_width=36)
    for column in ("name", "status", "visibility", "size"):
        table.add_column(column)
    table.add_column("created", no_wrap=True)
    table.add_column("tags")
    for image in images:
        created = image.created_at.strftime("%Y-%m-%d") if image.created_at else ""
        cells = (
            image.id,
            image.name or "",
            image.status or "",
            image.visibility or "",
            human_size(image.size),
            created,
            ", ".join(image.tags),
        )
        table.add_row(*(escape(c) for c in cells))
    console.print(table)
    if not images:
        console.print("No images match.")


@app.command("show")
def show_image(
    image_id: Annotated[str, typer.Argument(help="The image id.", show_default=False)],
    account: AccountOption,
    region: RegionOption = None,
    json_output: JsonFlag = False,
) -> None:
    """Show one image: fields, custom properties, and members (for its owner)."""
    client = images_client(account, region)
    image = client.get_image(image_id)
    members = _members(client, image_id)
    data = image_json(image)
    if members is not None:
        data["members"] = members
    if json_output:
        print_json(data)
        return
    base = {k: v for k, v in data.items() if k not in image.properties and k != "members"}
    console.print(key_value_table(base, title=f"Image {image.id}"))
    if image.properties:
        console.print(key_value_table(image.properties, title="Properties"))
    if members:
        table = Table("member", "status", "updated", title="Members", title_justify="left")
        for member in members:
            table.add_row(member["member_id"], member["status"], str(member["updated_at"] or ""))
        console.print(table)


def _members(client: ImagesClient, image_id: str) -> list[dict[str, Any]] | None:
    """The members an account may see; None where it may not list them (public images)."""
    try:
        found = client.list_members(image_id)
    except ApiError:
        return None
    return [m.model_dump(mode="json", exclude={"schema_link"}) for m in found]


def accept(
    image_id: Annotated[str, typer.Argument(help="The shared image's id.", show_default=False)],
    account: AccountOption,
    region: RegionOption = None,
    reject: Annotated[bool, typer.Option(help="Decline the offer instead.")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Accept an image another account shared with this one (as the consumer).

    Sets this account's member status on the image to accepted (or rejected),
    after which the image shows in `images list --visibility shared`.
    """
    client = images_client(account, region)
    wanted: Literal["accepted", "rejected"] = "rejected" if reject else "accepted"
    member = client.set_member_status(image_id, client.session.tenant_id, wanted)
    if json_output:
        print_json(member.model_dump(mode="json", exclude={"schema_link"}))
        return
    console.print(
        f"Image [bold]{escape(image_id)}[/bold] is now {member.status} by {escape(account)} "
        f"(tenant {member.member_id}) in {client.region}."
    )
