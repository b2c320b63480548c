"""The work that keeps the service current between requests: the projections, and the
scheduled checks. The active projection runner runs it (workers/projections.py), and so does
the embedded default's one process (app.py); the API processes beside a Redis broker, the
dramatiq workers and the CLI never do."""

from __future__ import annotations

import threading

from apscheduler.schedulers.background import BackgroundScheduler

from bootstrap import Services
from workers.checks import scheduler


class Background:
    def __init__(self, services: Services):
        self.services = services
        self.checks: BackgroundScheduler | None = None  # made when started, not before
        self._lock = threading.Lock()

    def start(self) -> None:
        if self.checks is not None:  # every request of the embedded default comes here
            return
        with self._lock:
            if self.checks is None:
                self.services.projections.start()
                self.checks = scheduler(self.services)
                self.checks.start()

    def stop(self) -> None:
        with self._lock:
            if self.checks is not None and self.checks.running:
                self.checks.shutdown(wait=True)
            self.services.projections.stop()
