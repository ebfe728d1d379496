"""Running a flow from the CLI: a spinner that shows the run's progress, and errors mapped.

Prefect's console handler is kept to CRITICAL (see ``prefect_defaults``), so
a failing flow prints no traceback; instead a spinner (stderr, terminal only,
never with ``--json``) shows the run's latest INFO line, a line per finished
task, and warnings as one line each. A ``CloudImagesError`` from the flow passes through (exit
1); anything else becomes ``FlowRunFailed`` (exit 3).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TypeVar

from rich.markup import escape
from rich.status import Status

from ..errors import CloudImagesError
from ._common import OPTIONS, FlowRunFailed, errors

T = TypeVar("T")

_RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")
_STATUS_WIDTH = 100
_RUN_SUFFIX = re.compile(r"-[0-9a-f]{3}$")  # Prefect's task-run names: "<task name>-9df"


def run_flow(title: str, call: Callable[[], T], *, show_progress: bool) -> T:
    """Call a flow under a spinner; map its failure to the CLI's exit codes."""
    with _watching(title, spinner=show_progress):
        try:
            return call()
        except (CloudImagesError, FlowRunFailed, KeyboardInterrupt):
            raise
        except Exception as err:
            msg = f"{title} failed: {type(err).__name__}: {err}"
            raise FlowRunFailed(msg) from err


class _RunLogView(logging.Handler):
    """What the terminal shows of a run's log while Prefect's console handler is quiet.

    INFO lines update the spinner (when there is one) and finished tasks get a
    ✓ line; warnings are printed as one line. Errors are left out: the CLI
    prints the one error line itself when the flow raises.
    """

    def __init__(self, title: str, status: Status | None) -> None:
        super().__init__(level=logging.INFO)
        self.title = title
        self.status = status

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._show(record)
        except Exception:  # a log handler must never break the run
            self.handleError(record)

    def _show(self, record: logging.LogRecord) -> None:
        message = " ".join(record.getMessage().split())
        if record.levelno >= logging.ERROR:
            return
        if record.levelno >= logging.WARNING:
            errors.print(f"[yellow]warning:[/yellow] {escape(message)}", highlight=False)
            return
        if self.status is None:
            return
        task = getattr(record, "task_run_name", None)
        if task and message.startswith("Finished in state Completed"):
            name = _RUN_SUFFIX.sub("", str(task))
            errors.print(f"  [green]✓[/green] {escape(name)}", highlight=False)
            return
        line = message[:_STATUS_WIDTH]
        self.status.update(f"{escape(self.title)}: [dim]{escape(line)}[/dim]")


@contextmanager
def _watching(title: str, *, spinner: bool) -> Iterator[None]:
    """Attach the log view to the run loggers (not with --verbose: Prefect prints then)."""
    if OPTIONS.verbose:
        yield
        return
    with ExitStack() as stack:
        status = None
        if spinner and errors.is_terminal:
            status = stack.enter_context(errors.status(f"{escape(title)}…"))
        view = _RunLogView(title, status)
        loggers = [logging.getLogger(name) for name in _RUN_LOGGERS]
        for logger in loggers:
            logger.addHandler(view)
        try:
            yield
        finally:
            for logger in loggers:
                logger.removeHandler(view)
