"""Progress bars of the long commands (`db upgrade`, `audit verify`): on a terminal, one bar per
task with what is done, the rate and the time left (click's progressbar); elsewhere nothing,
and the command's own lines say the outcome (a log file or a CI run reads one summary, not
thousands of redrawn bars)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO, Any

import click

# progress(task, done, total): `done` out of `total` units of the task named `task` (its name
# says the unit: "replay (events)").
Progress = Callable[[str, int, int], None]


def no_progress(task: str, done: int, total: int) -> None:
    """For callers that show nothing while they work (tests, the scheduled checks)."""


class ProgressBars:
    def __init__(self, file: IO[str] | None = None):
        self.file = file or sys.stderr
        self.shown = self.file.isatty()
        self.task: str | None = None  # tasks run one after the other: one bar at a time
        self.bar: Any = None
        self.first = (0.0, 0)  # when the task's first report came, and what was done then

    def __enter__(self) -> ProgressBars:
        return self

    def __exit__(self, *exc: object) -> None:
        self._finish()

    def __call__(self, task: str, done: int, total: int) -> None:
        if not self.shown:
            return
        if task != self.task:
            self._finish()
            # The rate counts from the first report: what was done before it took unknown time.
            self.task, self.first = task, (time.perf_counter(), done)
            self.bar = click.progressbar(
                length=max(total, 1), label=task, show_pos=True, show_eta=False,
                file=self.file, item_show_func=self._rate,
            )
            self.bar.render_progress()
        self.bar.length = max(total, 1)
        self.bar.update(done - self.bar.pos, current_item=(done, total))

    def say(self, line: str) -> None:
        """A line of the command's own, below the bar it ends (a task says its outcome when
        it is done)."""
        self._finish()
        click.echo(line)

    def _finish(self) -> None:
        if self.bar is not None:
            self.bar.render_finish()
        self.task = self.bar = None

    def _rate(self, item: tuple[int, int] | None) -> str:
        began, done_then = self.first
        seconds = time.perf_counter() - began
        if item is None or seconds <= 0 or item[0] <= done_then:
            return ""
        done, total = item
        rate = (done - done_then) / seconds
        left = round((total - done) / rate)
        per_second = f"{rate:,.0f}".replace(",", "\u202f")
        return f"{per_second}/s, {left // 3600}:{left // 60 % 60:02d}:{left % 60:02d} left"
