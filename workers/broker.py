"""The one place the broker is chosen, from settings."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from adapters.settings import Settings


def make_broker(settings: Settings) -> dramatiq.Broker:
    if settings.redis_url:
        return RedisBroker(url=settings.redis_url)
    # The embedded default: messages stay in this process and worker threads run them.
    return StubBroker()
