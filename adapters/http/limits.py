"""Per-address rate limits (ACCOUNTS_RATE_LIMITS) with Flask-Limiter.

Counters live in Redis when it is configured, so every API process shares them; in memory
otherwise (the embedded default runs one process).
"""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from adapters.settings import Settings

# Which endpoints each named limit guards (POST only): the API's and the page that does the
# same thing count together, so a form is no way around a limit.
LIMITED_ENDPOINTS = {
    # Every way in counts together, the challenges handed out for one as well (each is a row).
    "sessions": ("member.Sessions", "pages.sign_in", "passkeys.PasskeySignInOptions",
                 "passkeys.PasskeySignIn", "passkeys.RecoveryCodeSignIn",
                 "pages.passkey_sign_in_options", "pages.passkey_sign_in",
                 "pages.recovery_code_sign_in"),
    "recoveries": ("portal.Recoveries", "pages.recovery"),
    "registrations": ("portal.Registrations", "pages.register"),
    "support-requests": ("portal.SupportRequests", "pages.contact"),
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
        shared = limiter.shared_limit(limit, scope=name, methods=["POST"])
        for endpoint in LIMITED_ENDPOINTS.get(name, ()):
            view = app.view_functions.get(endpoint)
            if view is not None:
                app.view_functions[endpoint] = shared(view)
    return limiter
