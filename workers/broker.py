"""The one place the broker is chosen, from settings."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage

from adapters.logs import RequestIdMiddleware
from adapters.settings import Settings


def make_broker(settings: Settings) -> dramatiq.Broker:
    # The embedded default (no Redis): messages stay in this process and worker threads run them.
    broker = RedisBroker(url=settings.redis_url) if settings.redis_url else StubBroker()
    broker.add_middleware(RequestIdMiddleware())
    broker.add_middleware(CurrentMessage())  # lets an actor read when its message was sent
    return broker
