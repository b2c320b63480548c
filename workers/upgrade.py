"""`flask --app app db upgrade`, after start-up has migrated the tables (bootstrap): build each
read model whose version changed beside the live one, then switch it in.

Building is safe while anything runs, the previous release included. Switching is not while
the previous release's projection runner still runs (it would write the old shape into the
new tables), so it waits for the runner lock: with no runner active it switches itself; if a
runner of this release is active, that runner switches and this command sees it done.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import click

from bootstrap import Services
from projections.runner import catch_up
from projections.versions import Rebuild
from workers.runner_lock import RunnerLock

WAIT_SECONDS = 1.0
# progress(rebuild, position, head): how far the build is, out of the log's head.
Progress = Callable[[Rebuild, int, int], None]


def finish_rebuilds(
    services: Services, lock: RunnerLock, progress: Progress, say: Callable[[str], None]
) -> None:
    read_models, app = services.read_models, services.lifecycle
    waiting = False
    while read_models.rebuilds:
        head = app.recorder.max_notification_id() or 0
        for rebuild in list(read_models.rebuilds):
            while catch_up(app, rebuild.projection):
                progress(rebuild, rebuild.position(), head)
            progress(rebuild, rebuild.position(), head)
        if lock.acquire():
            try:
                for rebuild in list(read_models.rebuilds):
                    while catch_up(app, rebuild.projection):
                        pass
                    position = rebuild.position()
                    if read_models.switch(rebuild):
                        say(f"{rebuild.name}: version {rebuild.version} switched in"
                            f" at position {position}")
            finally:
                lock.release()
            if read_models.rebuilds:  # a live one ahead of its build (another process's write)
                time.sleep(WAIT_SECONDS)
            continue
        if not waiting:
            say("built; a projection runner is active: the switch waits until it stops (stop"
                " the previous release's runner; a runner of this release switches by itself)")
            waiting = True
        time.sleep(WAIT_SECONDS)
        read_models.forget_switched()


class ProgressBars:
    """A progress bar per read model on a terminal (events done, rate, time left); elsewhere
    click prints the label alone, and finish_rebuilds' lines say the rest."""

    def __init__(self) -> None:
        self.bars: dict[str, Any] = {}
        self.started = time.perf_counter()

    def __enter__(self) -> ProgressBars:
        return self

    def __exit__(self, *exc: object) -> None:
        for bar in self.bars.values():
            bar.render_finish()

    def __call__(self, rebuild: Rebuild, position: int, head: int) -> None:
        bar = self.bars.get(rebuild.name)
        if bar is None:
            bar = self.bars[rebuild.name] = click.progressbar(
                length=max(head, 1), label=f"{rebuild.name} v{rebuild.version}",
                show_pos=True, file=sys.stderr, item_show_func=self._rate,
            )
            bar.render_progress()
        bar.length = max(head, 1)
        bar.update(position - bar.pos, current_item=position)

    def _rate(self, position: int | None) -> str:
        seconds = max(time.perf_counter() - self.started, 1e-3)
        return f"{(position or 0) / seconds:.0f} événements/s"
