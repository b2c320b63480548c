"""`flask --app app db upgrade`, after start-up has migrated the tables (bootstrap): build each
read model whose version changed beside the live one, then switch it in.

Building is safe while anything runs, the previous release included. Switching is not while
the previous release's projection runner still runs (it would write the old shape into the
new tables), so it waits for the runner lock: with no runner active it switches itself; if a
runner of this release is active, that runner switches and this command sees it done.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from adapters.progress import Progress
from bootstrap import Services
from projections.runner import catch_up
from projections.versions import Rebuild
from workers.runner_lock import RunnerLock

WAIT_SECONDS = 1.0


def finish_rebuilds(
    services: Services, lock: RunnerLock, progress: Progress, say: Callable[[str], None]
) -> None:
    read_models, app = services.read_models, services.lifecycle
    waiting = False
    while read_models.rebuilds:
        head = app.recorder.max_notification_id() or 0
        for rebuild in list(read_models.rebuilds):
            while catch_up(app, rebuild.projection):
                progress(_task(rebuild), rebuild.position(), head)
            progress(_task(rebuild), rebuild.position(), head)
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



def _task(rebuild: Rebuild) -> str:
    return f"{rebuild.name} v{rebuild.version} (events)"
