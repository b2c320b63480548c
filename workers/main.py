"""Entry point for worker processes: `dramatiq workers.main`.

dramatiq imports this module in each worker process; it wires the services from the
environment exactly as the API does (bootstrap.py, without Flask), with the Redis broker that
ACCOUNTS_REDIS_URL names.
"""

from __future__ import annotations

import dramatiq

from adapters import logs
from adapters.settings import Settings
from bootstrap import bootstrap

logs.configure(force=True)  # JSON lines, replacing dramatiq's own format
services = bootstrap(Settings.from_env())
if services.outbox.kind != "redis":
    raise SystemExit("ACCOUNTS_REDIS_URL must be set to run separate worker processes")
dramatiq.set_broker(services.broker)
broker = services.broker
