"""The one place the broker is chosen, from settings."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage

from adapters.logs import RequestIdMiddleware
from adapters.settings import Settings

# Per million Redis commands, how many also run dramatiq's maintenance, which returns the
# messages of a worker whose heartbeat stopped (killed mid-job) to the queue. The default, 1000,
# left a killed worker's e-mails waiting for many minutes on a quiet queue (measured by
# tests/integration/test_worker_kill.py); one command in ten keeps it near the heartbeat
# timeout (60 s), well inside the contract's 10 minutes, for a cheap script.
MAINTENANCE_CHANCE = 100_000


def make_broker(settings: Settings) -> dramatiq.Broker:
    # The embedded default (no Redis): messages stay in this process and worker threads run them.
    broker = (
        RedisBroker(url=settings.redis_url, maintenance_chance=MAINTENANCE_CHANCE)
        if settings.redis_url else StubBroker()
    )
    broker.add_middleware(RequestIdMiddleware())
    broker.add_middleware(CurrentMessage())  # lets an actor read when its message was sent
    return broker
