"""The ``cloudimages`` command line.

Commands:

- ``accounts add|list|remove|limit``: account blocks (credentials; keys are never
  printed) and their per-account concurrency limits.
- ``images list|show``, ``accept``: direct Cloud Images calls, no flow run.
- ``import``, ``export``, ``share``, ``replicate``: run the Prefect pipelines.
- ``sync plan|apply``: golden images as code (a YAML spec), the ``sync-images`` flow.
- ``demo``: the whole story on an embedded local cloud.
- ``localcloud serve``: the local cloud in the foreground.
- ``serve``: the pipelines' deployments served by this process (no work pool).
- ``server start|status|stop``: the background Prefect server the CLI uses when
  no Prefect API is configured (started on first use, reused after);
  ``server setup``: the crash detector and account limits on a Prefect server.

Every command takes ``--json`` to print one JSON object on stdout instead of
tables. Errors go to stderr as one line, ``TypeName: message``; ``--debug``
(anywhere on the line, or ``CLOUDIMAGES_DEBUG=1``) adds the traceback.

Exit codes:

- 0: done.
- 1: a ``CloudImagesError``: bad input, unknown account block, refused key,
  image not found, a task that failed, ...
- 2: usage error (unknown option, missing argument, bad value).
- 3: a pipeline failed for another reason (a bug or a Prefect failure).
- 4: ``sync plan`` only: apply would change something.
- 130: interrupted (Ctrl-C).

Only pipeline commands import the flows, and only pipelines and commands that
write Prefect objects (``accounts add|limit``, ``server setup``, ``serve``)
import Prefect (about a second): the others read account blocks over Prefect's
REST API (``_connect``, ``_accountstore``) and answer in well under a second.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from ..errors import CloudImagesError
from . import accounts, demo, images, localcloud, pipelines, serve, server, sync
from ._common import OPTIONS, ExitCode, FlowRunFailed, fail

__all__ = ["ExitCode", "app", "main"]

EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 a cloudimages error (printed as one line, `TypeName: message`);"
    " 2 usage; 3 a pipeline failed for another reason; 4 `sync plan` has changes;"
    " 130 interrupted."
)

app = typer.Typer(
    no_args_is_help=True,
    help=f"Move VM images into, out of and between clouds.\n\n{EXIT_CODES_HELP}",
    pretty_exceptions_show_locals=False,
)
app.add_typer(accounts.app, name="accounts")
app.add_typer(images.app, name="images")
app.command("accept")(images.accept)
app.command("import")(pipelines.import_command)
app.command("export")(pipelines.export_command)
app.command("share")(pipelines.share_command)
app.command("replicate")(pipelines.replicate_command)
app.add_typer(sync.app, name="sync")
app.command("demo")(demo.demo_command)
app.add_typer(localcloud.app, name="localcloud")
app.command("serve")(serve.serve_command)
app.add_typer(server.app, name="server")


@app.callback()
def _root(
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Show the traceback of an error (also CLOUDIMAGES_DEBUG=1)."),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show Prefect's log lines while flows run.")
    ] = False,
) -> None:
    OPTIONS.debug = OPTIONS.debug or debug
    OPTIONS.verbose = OPTIONS.verbose or verbose


def _take_flag(args: list[str], *names: str) -> bool:
    """Remove a global flag given after the command name; True if it was there."""
    end = args.index("--") if "--" in args else len(args)
    found = [i for i in range(end) if args[i] in names]
    for index in reversed(found):
        del args[index]
    return bool(found)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI: typed errors become one line and an exit code, not a traceback."""
    args = list(sys.argv[1:] if argv is None else argv)
    OPTIONS.debug = _take_flag(args, "--debug") or os.environ.get("CLOUDIMAGES_DEBUG", "") not in (
        "",
        "0",
    )
    OPTIONS.verbose = _take_flag(args, "--verbose", "-v")
    try:
        app(args=args, prog_name="cloudimages")
    except CloudImagesError as err:
        fail(err, ExitCode.ERROR)
    except FlowRunFailed as err:
        fail(err, ExitCode.FLOW_FAILED)
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        raise SystemExit(int(ExitCode.INTERRUPTED)) from None
