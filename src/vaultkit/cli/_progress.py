"""Progress of a long pass over a table (``vaultkit reencrypt``, the demo): a rich progress bar
(rows/s, ETA) on a terminal, plain ``done/total rows`` lines on stderr otherwise (logs,
pipelines), and the count of rows the application inserted meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import click

from vaultkit.cli._common import err_console

if TYPE_CHECKING:
    from rich.progress import Progress

__all__ = ["RowCount", "run_with_progress"]

T = TypeVar("T")


def _progress() -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]} rows/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )


class RowCount:
    """Rows done against rows to do. ``planned`` is what was counted before the pass; rows the
    application inserts meanwhile are seen too (the pass walks the primary key to its end), so
    they are counted as ``added`` and the total grows: done never shows above total."""

    def __init__(self, planned: int) -> None:
        self.planned = planned
        self.done = 0

    @property
    def added(self) -> int:
        return max(self.done - self.planned, 0)

    @property
    def total(self) -> int:
        return self.planned + self.added

    def line(self, description: str, rate: float) -> str:
        added = f", {self.added:,} added during the run" if self.added else ""
        return f"{description}: {self.done}/{self.total} rows{added} ({rate:,.0f} rows/s)"


def run_with_progress(
    description: str, planned: int, fn: Callable[[Callable[[int], None]], T]
) -> tuple[T, RowCount]:
    """Run ``fn(advance)`` under a progress bar (rows/s, ETA) on a terminal, or with a plain
    ``description: done/total rows`` line on stderr every 5% otherwise (logs, pipelines) and
    once at the end. Returns ``fn``'s result and the final count."""
    count = RowCount(planned)
    start = time.perf_counter()
    if not err_console.is_terminal:
        step = max(planned // 20, 1)

        def rate() -> float:
            return count.done / max(time.perf_counter() - start, 1e-9)

        def report(n: int) -> None:
            before = count.done
            count.done += n
            if count.done // step != before // step:
                click.echo(count.line(description, rate()), err=True)

        result = fn(report)
        if count.done % step or count.done == 0:  # the last line shows the final count
            click.echo(count.line(description, rate()), err=True)
        return result, count
    with _progress() as bar:
        task = bar.add_task(description, total=planned, rate="-")

        def advance(n: int) -> None:
            count.done += n
            bar.update(task, completed=count.done, total=count.total)
            speed = bar.tasks[task].speed
            bar.update(task, rate=f"{speed:,.0f}" if speed else "-")

        result = fn(advance)
        bar.update(task, completed=count.done, total=count.done)  # rows deleted meanwhile
        return result, count
