"""Progress bars for commands that run longer than a few seconds (import, match, demo, bench, export).

Drawn with rich on standard error, and only when standard error is a terminal: a command whose
output goes to a file, a pipe, CI or a service journal prints exactly what it printed before. The
bar is transient (it disappears when its work ends), so the command's own lines stay as they were.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol


class Update(Protocol):
    def __call__(
        self, completed: float | None = None, *, description: str | None = None, total: float | None = None
    ) -> None: ...


def _terminal() -> bool:
    return sys.stderr.isatty()


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def quiet(completed: float | None = None, *, description: str | None = None, total: float | None = None) -> None:
    return None


_active: Any = None  # the bar being drawn: a command invoked inside another (the demo's steps) adds a line to it


@contextmanager
def progress(description: str, total: float | None = None) -> Iterator[Update]:
    """A bar (or, with no total, a spinner); `update(done, description=…, total=…)` moves it."""
    global _active
    if not _terminal():
        yield quiet
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    outer = _active is None
    if outer:
        columns = [
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        ]
        _active = Progress(*columns, console=_console(), transient=True)
        _active.start()
    bar = _active
    task = bar.add_task(description, total=total)

    def update(completed: float | None = None, *, description: str | None = None, total: float | None = None) -> None:
        bar.update(task, completed=completed, description=description, total=total, refresh=True)

    try:
        yield update
    finally:
        bar.remove_task(task)
        bar.refresh()  # redraw at the new height before the command prints its own lines
        if outer:
            bar.stop()
            _active = None
