"""Progress bars on the terminal: the run's latest line, and one bar per phase at work.

The steps publish phases (``cloudimages.progress``): bytes of a conversion,
upload, copy or download (shown with the rate and the time left), or a wait
for a cloud task (its status and the time elapsed). This view draws them with
``rich.progress`` on stderr, under a first line that shows the run's latest log
line. A finished phase leaves one summary line. Only on a terminal, and never
with ``--json`` (the caller decides).
"""

from __future__ import annotations

import threading
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text

from .. import progress
from ._common import human_size

__all__ = ["ProgressView"]

#: Longer phase titles (a sha256-named VHD) lose their middle, so the bar keeps its room.
TITLE_WIDTH = 36


def short(title: str) -> str:
    if len(title) <= TITLE_WIDTH:
        return title
    keep = TITLE_WIDTH - 1
    return f"{title[: keep - keep // 3]}…{title[-(keep // 3) :]}"


class _Details(ProgressColumn):
    """Bytes done of the total, the rate and the time left; or a wait's status."""

    def __init__(self) -> None:
        super().__init__()
        self._bytes = DownloadColumn(binary_units=True)
        self._rate = TransferSpeedColumn()
        self._left = TimeRemainingColumn()

    def render(self, task: Task) -> Text:
        kind = task.fields.get("kind")
        if kind == "bytes":
            left = self._left.render(task) if task.total else Text("")
            parts = [self._bytes.render(task), self._rate.render(task), left]
            return Text("  ").join(parts)
        if kind == "wait":
            return Text(str(task.fields.get("status") or ""), style="cyan")
        return Text("")


class ProgressView:
    """The live display; ``update`` is a ``cloudimages.progress`` listener (any thread)."""

    def __init__(self, console: Console, title: str) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(bar_width=30),
            _Details(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.title = title
        self.run = self.progress.add_task(f"{escape(title)}…", total=None, kind="run", status=None)
        self._tasks: dict[int, TaskID] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> ProgressView:
        self.progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.progress.stop()

    def line(self, text: str) -> None:
        """Show ``text`` as the run's latest news."""
        self.progress.update(self.run, description=f"{escape(self.title)}: [dim]{escape(text)}")

    def print(self, markup: str) -> None:
        """A line above the bars."""
        self.progress.console.print(markup, highlight=False)

    def update(self, update: progress.Update) -> None:
        with self._lock:
            task = self._tasks.get(update.phase)
            if task is None and update.finished:
                return
            if task is None:
                task = self._tasks[update.phase] = self.progress.add_task(
                    f"  {escape(short(update.title))}",
                    total=update.total,
                    kind=update.unit,
                    status=update.status,
                )
                self.progress.refresh()  # even a short phase shows its bar once
            self.progress.update(
                task, completed=update.done, total=update.total, status=update.status
            )
            if update.finished:
                del self._tasks[update.phase]
                self._finish(task, update)

    def _finish(self, task: TaskID, update: progress.Update) -> None:
        shown = self.progress.tasks[self.progress.task_ids.index(task)]
        elapsed = shown.elapsed or 0.0
        self.progress.remove_task(task)
        if not update.ok:
            return
        if update.unit == "wait":
            said = f"{update.status} after {elapsed:.0f} s" if update.status else "done"
        else:
            rate = f", {human_size(int(update.done / elapsed))}/s" if elapsed > 0 else ""
            said = f"{human_size(update.done)} in {elapsed:.1f} s{rate}"
        self.print(f"    [dim]{escape(short(update.title))}: {escape(said)}[/dim]")
