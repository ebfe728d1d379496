"""``cloudimages import|export|share|replicate``: run a pipeline (a Prefect flow) in this process.

Each command builds the flow's request model (``cloudimages.params``: its
defaults and help texts are the options'), then imports the flow, which
imports Prefect, and runs it against the Prefect API in ``PREFECT_API_URL`` (or
the profile's); without one, against the CLI's background server, started on
first use and reused after (``cloudimages server``). On a terminal the steps'
progress is drawn as bars (``_progress``). Exit codes: 0 done; 1 a cloudimages
error (one line); 2 usage; 3 the flow failed for another reason; 130 interrupted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import DiskImageError
from ..params import (
    ExportRequest,
    ImportRequest,
    Mode,
    ReplicateRequest,
    ShareRequest,
    build,
    default_of,
    help_of,
)
from ._common import AccountOption, JsonFlag, RegionOption, prefect_defaults, print_json
from ._report import print_report, report_dict
from ._running import run_flow


def _run(title: str, verb: str, call: Callable[[], Any], *, json_output: bool) -> None:
    """Run the flow, then print its report (as JSON, or as tables).

    A flow that fails after writing a report attaches it to its error as
    ``.report`` (replicate with some targets failed): with --json it is
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


def _properties(pairs: list[str] | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs or ():
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
        typer.Argument(help=help_of(ImportRequest, "source"), show_default=False),
    ],
    account: AccountOption,
    name: Annotated[str, typer.Option(help=help_of(ImportRequest, "name"), show_default=False)],
    region: RegionOption = None,
    property_: Annotated[
        list[str] | None,
        typer.Option("--property", "-p", help="Custom property KEY=VALUE; repeatable."),
    ] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Tag to set; repeatable.")] = None,
    container: Annotated[str, typer.Option(help=help_of(ImportRequest, "container"))] = default_of(
        ImportRequest, "container"
    ),
    segment_size_mb: Annotated[
        int, typer.Option(help=help_of(ImportRequest, "segment_size_mb"))
    ] = default_of(ImportRequest, "segment_size_mb"),
    keep_staging: Annotated[
        bool, typer.Option(help=help_of(ImportRequest, "keep_staging"))
    ] = default_of(ImportRequest, "keep_staging"),
    task_timeout_minutes: Annotated[
        float, typer.Option(help=help_of(ImportRequest, "task_timeout_minutes"))
    ] = default_of(ImportRequest, "task_timeout_minutes"),
    web_download: Annotated[
        bool, typer.Option(help=help_of(ImportRequest, "web_download"))
    ] = default_of(ImportRequest, "web_download"),
    source_format: Annotated[
        str | None,
        typer.Option("--format", help=help_of(ImportRequest, "source_format"), show_default=False),
    ] = None,
    disk_format: Annotated[
        str | None, typer.Option(help=help_of(ImportRequest, "disk_format"), show_default=False)
    ] = None,
    replace_stuck_task: Annotated[
        bool, typer.Option(help=help_of(ImportRequest, "replace_stuck_task"))
    ] = default_of(ImportRequest, "replace_stuck_task"),
    max_download_gb: Annotated[
        float, typer.Option(help=help_of(ImportRequest, "max_download_gb"))
    ] = default_of(ImportRequest, "max_download_gb"),
    json_output: JsonFlag = False,
) -> None:
    """Import a disk image into an account: convert to VHD, upload, import, verify.

    A rerun after a failure resumes without duplicates; an image already
    imported from the same content is reported as skipped. With --json prints
    the report (it has `image_id`).
    """
    request = build(
        ImportRequest,
        source=_source(source),
        account=account,
        name=name,
        region=region,
        properties=_properties(property_),
        tags=tag or [],
        container=container,
        segment_size_mb=segment_size_mb,
        keep_staging=keep_staging,
        task_timeout_minutes=task_timeout_minutes,
        replace_stuck_task=replace_stuck_task,
        max_download_gb=max_download_gb,
        disk_format=disk_format,
        source_format=source_format,
        web_download=web_download,
    )
    prefect_defaults()
    from ..flows.import_image import import_image

    shown = Path(request.source).name if "://" not in request.source else request.source
    _run(
        "Import",
        f"Importing {shown} into {account}",
        lambda: import_image(request),
        json_output=json_output,
    )


def export_command(
    image_id: Annotated[
        str, typer.Argument(help=help_of(ExportRequest, "image_id"), show_default=False)
    ],
    account: AccountOption,
    container: Annotated[
        str | None, typer.Option(help=help_of(ExportRequest, "container"), show_default=False)
    ] = None,
    region: RegionOption = None,
    download_to: Annotated[
        Path | None, typer.Option(help=help_of(ExportRequest, "download_to"))
    ] = None,
    compare_with: Annotated[
        Path | None, typer.Option(help=help_of(ExportRequest, "compare_with"))
    ] = None,
    task_timeout_minutes: Annotated[
        float, typer.Option(help=help_of(ExportRequest, "task_timeout_minutes"))
    ] = default_of(ExportRequest, "task_timeout_minutes"),
    json_output: JsonFlag = False,
) -> None:
    """Export an image into a container (Rackspace: as a VHD), verified; or download it.

    An OpenStack cloud's image can go straight to a file with --download-to alone.
    """
    if compare_with is not None:
        _source(str(compare_with))
    request = build(
        ExportRequest,
        image_id=image_id,
        account=account,
        container=container,
        region=region,
        download_to=str(download_to.expanduser().resolve()) if download_to else None,
        compare_with=str(compare_with) if compare_with else None,
        task_timeout_minutes=task_timeout_minutes,
    )
    prefect_defaults()
    from ..flows.export_image import export_image

    _run(
        "Export",
        f"Exporting {image_id} from {account} to {container or download_to}",
        lambda: export_image(request),
        json_output=json_output,
    )


def share_command(
    image_id: Annotated[
        str, typer.Argument(help=help_of(ShareRequest, "image_id"), show_default=False)
    ],
    account: AccountOption,
    with_: Annotated[
        list[str],
        typer.Option("--with", help="Account block to share with; repeatable.", show_default=False),
    ],
    accept: Annotated[bool, typer.Option(help=help_of(ShareRequest, "accept"))] = default_of(
        ShareRequest, "accept"
    ),
    region: RegionOption = None,
    json_output: JsonFlag = False,
) -> None:
    """Share an image with other accounts (as members); with --accept, accept for them too.

    Without --accept the consumers accept later with `cloudimages accept`.
    """
    request = build(
        ShareRequest,
        image_id=image_id,
        account=account,
        consumers=list(with_),
        accept=accept,
        region=region,
    )
    prefect_defaults()
    from ..flows.share_image import share_image

    _run(
        "Share",
        f"Sharing {image_id} from {account} with {', '.join(with_)}",
        lambda: share_image(request),
        json_output=json_output,
    )


def replicate_command(
    image_id: Annotated[
        str, typer.Argument(help=help_of(ReplicateRequest, "image_id"), show_default=False)
    ],
    from_: Annotated[
        str, typer.Option("--from", help="Account block that owns the image.", show_default=False)
    ],
    to: Annotated[
        list[str],
        typer.Option(help="Target account block; repeatable.", show_default=False),
    ],
    mode: Annotated[Mode, typer.Option(help=help_of(ReplicateRequest, "mode"))] = default_of(
        ReplicateRequest, "mode"
    ),
    source_region: Annotated[
        str | None, typer.Option(help="Region of the image (default: the block's).")
    ] = None,
    max_per_account: Annotated[
        int, typer.Option(help=help_of(ReplicateRequest, "max_per_account"))
    ] = default_of(ReplicateRequest, "max_per_account"),
    task_timeout_minutes: Annotated[
        float, typer.Option(help=help_of(ReplicateRequest, "task_timeout_minutes"))
    ] = default_of(ReplicateRequest, "task_timeout_minutes"),
    json_output: JsonFlag = False,
) -> None:
    """Replicate an image to other accounts and regions, in parallel.

    auto shares where the target is in the image's region and copies elsewhere.
    Targets that already have the image are skipped. With --json prints
    {"targets": [{"account", "region", "mode", "image_id", "skipped", ...}]}.
    """
    request = build(
        ReplicateRequest,
        image_id=image_id,
        source=from_,
        targets=list(to),
        mode=mode,
        source_region=source_region,
        max_per_account=max_per_account,
        task_timeout_minutes=task_timeout_minutes,
    )
    prefect_defaults()
    from ..flows.replicate_image import replicate_image

    _run(
        "Replicate",
        f"Replicating {image_id} from {from_} to {', '.join(to)}",
        lambda: replicate_image(request),
        json_output=json_output,
    )
