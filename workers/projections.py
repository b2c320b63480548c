"""Entry point for a projection runner process: `python -m workers.projections`.

With ACCOUNTS_REDIS_URL set the API processes do not run projections; this process does,
with the scheduled checks. Run two (on two machines, for instance): the one that holds the
runner lock (workers/runner_lock.py) is active, the other stands by and takes over within
about a second of the active one dying.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading

from adapters import logs
from adapters.settings import Settings
from bootstrap import bootstrap
from workers.background import Background
from workers.runner_lock import runner_lock

log = logging.getLogger("accounts.projections")
STANDBY_POLL_SECONDS = 1.0
HOLD_CHECK_SECONDS = 2.0


def main() -> None:
    logs.configure()
    settings = Settings.from_env()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    lock = runner_lock(settings)
    if not lock.acquire():
        log.info("standby: another runner is active")
        while not stop.wait(STANDBY_POLL_SECONDS):
            if lock.acquire():
                break
    if stop.is_set():
        return
    log.info("active: running the projections and the scheduled checks")
    services = bootstrap(settings)
    background = Background(services)
    background.start()
    lost = False
    while not stop.wait(HOLD_CHECK_SECONDS):
        if not lock.held():
            # Another runner may hold it by now: step down, and let the supervisor restart us
            # (as a standby) rather than run two at once.
            log.error("lost the runner lock; stopping")
            lost = True
            break
    background.stop()
    services.close()
    lock.release()
    sys.exit(1 if lost else 0)


if __name__ == "__main__":
    main()
