"""``cloudimages import|export|share|replicate``: run a pipeline (a Prefect flow) in this process.

The flow runs against the Prefect API in ``PREFECT_API_URL``; without one,
Prefect starts a temporary local server for the run (8-17 s on this kind of
machine), so export ``PREFECT_API_URL`` when running several commands.
Exit codes: 0 done; 1 a cloudimages error (one line); 2 usage; 3 the flow
failed for another reason; 130 interrupted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from ..errors import DiskImageError
from ._common import AccountOption, JsonFlag, RegionOption, print_json
from ._report import print_report, report_dict
from ._running import load_flow, run_flow

Mode = Literal["auto", "share", "copy"]


def _run(title: str, verb: str, call: Callable[[], Any], *, json_output: bool) -> None:
    """Run the flow, then print its report (as JSON, or as tables).

    A flow that fails after writing a report may attach it to its error as
    ``.report`` (say, replicate with some targets failed): with --json it is
    printed before the error line, so scripts see which targets worked.
    """
    try:
        report = run_flow(verb, call, show_progress=not json_output)
    except Exception as err:
        partial = getattr(err, "report", None)
        if json_output and partial is not None:
            print_json(report_dict(partial))
        raise
    data = report_dict(report)
    if json_output:
        print_json(data)
    else:
        print_report(title, data)


def _properties(pairs: list[str] | None) -> dict[str, str] | None:
    if not pairs:
        return None
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            msg = f"{pair!r} is not KEY=VALUE"
            raise typer.BadParameter(msg, param_hint="--property")
        found[key.strip()] = value
    return found


def _source(source: str) -> str:
    """A URL as given; a local path made absolute after checking it is a readable file."""
    if source.startswith(("http://", "https://")):
        return source
    path = Path(source).expanduser()
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        msg = f"{source} {what}; give the path of a disk image file or an http(s) URL"
        raise DiskImageError(msg)
    return str(path.resolve())


def import_command(
    source: Annotated[
        str,
        typer.Argument(
            help="Disk image file (qcow2, raw, VHD, ...) or http(s) URL.", show_default=False
        ),
    ],
    account: AccountOption,
    name: Annotated[str, typer.Option(help="Name of the new image.", show_default=False)],
    region: RegionOption = None,
    property_: Annotated[
        list[str] | None,
        typer.Option("--property", "-p", help="Custom property KEY=VALUE; repeatable."),
    ] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Tag to set; repeatable.")] = None,
    container: Annotated[
        str, typer.Option(help="Cloud Files container that stages the upload.")
    ] = "cloudimages-staging",
    segment_size_mb: Annotated[int, typer.Option(min=1, help="Upload segment size, MiB.")] = 64,
    keep_staging: Annotated[
        bool, typer.Option(help="Keep the uploaded VHD in the staging container.")
    ] = False,
    task_timeout_minutes: Annotated[
        int, typer.Option(min=1, help="How long the import task may take.")
    ] = 360,
    json_output: JsonFlag = False,
) -> None:
    """Import a disk image into an account: convert to VHD, upload, import, verify.

    A rerun after a failure resumes without duplicates; an image already
    imported from the same content is reported as skipped. With --json prints
    the report (it has `image_id`).
    """
    checked = _source(source)
    props = _properties(property_)
    flow = load_flow("import_image", "import_image")
    _run(
        "Import",
        f"Importing {Path(checked).name if '://' not in checked else checked} into {account}",
        lambda: flow(
            source=checked,
            account=account,
            name=name,
            region=region,
            container=container,
            properties=props,
            tags=tag or None,
            segment_size_mb=segment_size_mb,
            keep_staging=keep_staging,
            task_timeout_minutes=task_timeout_minutes,
        ),
        json_output=json_output,
    )


def export_command(
    image_id: Annotated[str, typer.Argument(help="The image to export.", show_default=False)],
    account: AccountOption,
    container: Annotated[
        str, typer.Option(help="Cloud Files container to export into.", show_default=False)
    ],
    region: RegionOption = None,
    download_to: Annotated[
        Path | None, typer.Option(help="Also download the exported VHD to this file.")
    ] = None,
    compare_with: Annotated[
        Path | None,
        typer.Option(help="Check the export has the same content as this disk image (qemu-img)."),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Export an image to a Cloud Files container as a VHD, and verify it."""
    if compare_with is not None:
        _source(str(compare_with))
    flow = load_flow("export_image", "export_image")
    _run(
        "Export",
        f"Exporting {image_id} from {account} to {container}",
        lambda: flow(
            image_id=image_id,
            account=account,
            container=container,
            region=region,
            download_to=str(download_to.expanduser().resolve()) if download_to else None,
            compare_with=str(compare_with) if compare_with else None,
        ),
        json_output=json_output,
    )


def share_command(
    image_id: Annotated[str, typer.Argument(help="The image to share.", show_default=False)],
    account: AccountOption,
    with_: Annotated[
        list[str],
        typer.Option("--with", help="Account block to share with; repeatable.", show_default=False),
    ],
    accept: Annotated[
        bool, typer.Option(help="Also accept the offer for each consumer (with its block).")
    ] = False,
    region: RegionOption = None,
    json_output: JsonFlag = False,
) -> None:
    """Share an image with other accounts (as members); with --accept, accept for them too.

    Without --accept the consumers accept later with `cloudimages accept`.
    """
    flow = load_flow("share_image", "share_image")
    _run(
        "Share",
        f"Sharing {image_id} from {account} with {', '.join(with_)}",
        lambda: flow(
            image_id=image_id,
            account=account,
            consumers=list(with_),
            accept=accept,
            region=region,
        ),
        json_output=json_output,
    )


def replicate_command(
    image_id: Annotated[str, typer.Argument(help="The image to replicate.", show_default=False)],
    from_: Annotated[
        str, typer.Option("--from", help="Account block that owns the image.", show_default=False)
    ],
    to: Annotated[
        list[str],
        typer.Option(help="Target account block; repeatable.", show_default=False),
    ],
    mode: Annotated[
        Mode,
        typer.Option(help="share (same region), copy (export, copy, import) or auto."),
    ] = "auto",
    source_region: Annotated[
        str | None, typer.Option(help="Region of the image (default: the block's).")
    ] = None,
    max_per_account: Annotated[
        int, typer.Option(min=1, help="Targets of one account worked on at once.")
    ] = 2,
    json_output: JsonFlag = False,
) -> None:
    """Replicate an image to other accounts and regions, in parallel.

    auto shares where the target is in the image's region and copies elsewhere.
    Targets that already have the image are skipped. With --json prints
    {"targets": [{"account", "region", "mode", "image_id", "skipped", ...}]}.
    """
    flow = load_flow("replicate_image", "replicate_image")
    _run(
        "Replicate",
        f"Replicating {image_id} from {from_} to {', '.join(to)}",
        lambda: flow(
            image_id=image_id,
            source=from_,
            targets=list(to),
            mode=mode,
            source_region=source_region,
            max_per_account=max_per_account,
        ),
        json_output=json_output,
    )
