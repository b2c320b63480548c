"""Security headers on every response the service gives.

The JSON API gets the strictest set: nothing in it is to be cached (tokens, personal data),
framed, sniffed or run as a page. The console sets its own page policy (console.py), which
these defaults do not override; the API docs page needs its scripts, so it keeps only the
generic headers. HSTS belongs to the TLS-terminating proxy in front, which knows the scheme.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request

API_PREFIX = "/api/v1/"
DOCS_PREFIX = "/api/v1/docs"


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response: Any) -> Any:
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("X-Frame-Options", "DENY")
        if request.path.startswith(API_PREFIX) and not request.path.startswith(DOCS_PREFIX):
            headers.setdefault("Cache-Control", "no-store")
            headers.setdefault(
                "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"
            )
        return response
