"""Progress bars of the remote commands (rich), on standard error.

Shown only on a terminal and without ``--json`` or ``--quiet``; otherwise every
call is a no-op and rich is never imported (it costs the command about 60 ms
of start-up).
"""

from __future__ import annotations

import sys
from pathlib import Path

from comprimemelo.client.models import Task

# Room for the sizes and speed on an 80-column terminal.
DESCRIPTION_WIDTH = 28
BAR_WIDTH = 12


class Bars:
    """A group of bars, live between ``with`` and its end."""

    def __init__(self, enabled: bool, *, quiet: bool = False) -> None:
        self.enabled = enabled and not quiet
        self.quiet = quiet
        self._progress = None
        self._compression: dict[int, object] = {}

    @classmethod
    def for_terminal(cls, *, quiet: bool) -> Bars:
        return cls(sys.stderr.isatty(), quiet=quiet)

    def __enter__(self) -> Bars:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
            from rich.table import Column

            self._progress = Progress(
                TextColumn("{task.description}", table_column=Column(max_width=DESCRIPTION_WIDTH, no_wrap=True,
                                                                      overflow="ellipsis")),
                BarColumn(bar_width=BAR_WIDTH), TaskProgressColumn(), _bytes_column(), TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def transfer(self, verb: str, path: Path | str):
        """A bar of bytes for one upload or download: returns its ``(done, total)`` callback."""
        if self._progress is None:
            return None
        bar = self._progress.add_task(f"{verb} {Path(path).name}", total=None, transfer=True)
        progress = self._progress

        def update(done: int, total: int) -> None:
            progress.update(bar, completed=done, total=total or None)

        return update

    def task_changed(self, task: Task) -> None:
        """The compression bar of a task being waited for (its ``progress``, 0-100)."""
        if self._progress is None:
            return
        if task.id not in self._compression:
            self._compression[task.id] = self._progress.add_task(
                f"compressing task {task.id} ({task.filename})", total=100, transfer=False
            )
        self._progress.update(self._compression[task.id], completed=100 if task.finished else task.progress)

    def note(self, text: str) -> None:
        """A line above the bars (or on standard error without them; none when quiet)."""
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False)
        elif not self.quiet:
            print(text, file=sys.stderr)


def _bytes_column():
    """Sizes and speed for the transfers' bars, nothing for the compression's (a percentage)."""
    from rich.progress import DownloadColumn, ProgressColumn, TransferSpeedColumn
    from rich.text import Text

    class BytesColumn(ProgressColumn):
        def __init__(self) -> None:
            super().__init__()
            self._size, self._speed = DownloadColumn(), TransferSpeedColumn()

        def render(self, task) -> Text:
            if not task.fields.get("transfer"):
                return Text("")
            return Text.assemble(self._size.render(task), " ", self._speed.render(task), no_wrap=True)

    return BytesColumn()
