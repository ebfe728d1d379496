"""Running a flow from the CLI: progress a person can watch, and errors mapped.

Prefect's console handler is kept to CRITICAL (see ``prefect_defaults``), so
a failing flow prints no traceback; instead, on a terminal and never with
``--json``, stderr shows the run's latest INFO line, progress bars of the
steps at work (``_progress``), a line per finished task, and warnings as one
line each (warnings also without a terminal). A ``CloudImagesError`` from the
flow passes through (exit 1); anything else becomes ``FlowRunFailed`` (exit 3).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TypeVar

from rich.markup import escape

from .. import progress
from ..errors import CloudImagesError
from ._common import OPTIONS, FlowRunFailed, errors
from ._progress import ProgressView

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

    INFO lines become the view's latest line (when there is a view) and
    finished tasks get a ✓ line; warnings are printed as one line. Errors are
    left out: the CLI prints the one error line itself when the flow raises.
    """

    def __init__(self, view: ProgressView | None) -> None:
        super().__init__(level=logging.INFO)
        self.view = view

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
            warning = f"[yellow]warning:[/yellow] {escape(message)}"
            if self.view is None:
                errors.print(warning, highlight=False)
            else:
                self.view.print(warning)
            return
        if self.view is None:
            return
        task = getattr(record, "task_run_name", None)
        if task and message.startswith("Finished in state Completed"):
            name = _RUN_SUFFIX.sub("", str(task))
            self.view.print(f"  [green]✓[/green] {escape(name)}")
            return
        self.view.line(message[:_STATUS_WIDTH])


@contextmanager
def _watching(title: str, *, spinner: bool) -> Iterator[None]:
    """Attach the log view to the run loggers (not with --verbose: Prefect prints then)."""
    if OPTIONS.verbose:
        yield
        return
    with ExitStack() as stack:
        shown = None
        if spinner and errors.is_terminal:
            shown = stack.enter_context(ProgressView(errors, title))
            stack.enter_context(progress.subscribe(shown.update))
        view = _RunLogView(shown)
        loggers = [logging.getLogger(name) for name in _RUN_LOGGERS]
        for logger in loggers:
            logger.addHandler(view)
        try:
            yield
        finally:
            for logger in loggers:
                logger.removeHandler(view)
