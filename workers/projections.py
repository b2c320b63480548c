"""Entry point for a projection runner process: `python -m workers.projections`.

With ACCOUNTS_REDIS_URL set the API processes do not run projections; this process does,
with the scheduled checks. Several may run: the tracking records keep every update to
exactly one of them.
"""

from __future__ import annotations

import signal
import threading

from adapters.settings import Settings
from app import build_services


def main() -> None:
    services = build_services(Settings.from_env())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    services.projections.start()
    stop.wait()
    services.close()


if __name__ == "__main__":
    main()
