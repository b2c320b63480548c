"""Per-address rate limits (ACCOUNTS_RATE_LIMITS) with Flask-Limiter.

Counters live in Redis when it is configured, so every API process shares them; in memory
otherwise (the embedded default runs one process).
"""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from adapters.settings import Settings

# Which endpoint each named limit guards (POST only).
LIMITED_ENDPOINTS = {
    "sessions": "member.Sessions",
    "recoveries": "portal.Recoveries",
    "registrations": "portal.Registrations",
    "support-requests": "portal.SupportRequests",
}


def make_limiter(app: Flask, settings: Settings) -> Limiter:
    limits = settings.rate_limits
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=settings.redis_url or "memory://",
        headers_enabled=True,
        enabled=limits is not None,
        key_prefix="accounts-limits",
    )
    for name, limit in (limits or {}).items():
        endpoint = LIMITED_ENDPOINTS.get(name)
        view = app.view_functions.get(endpoint) if endpoint else None
        if view is not None:
            app.view_functions[endpoint] = limiter.limit(limit, methods=["POST"], scope=name)(view)
    return limiter
