"""The member portal: the FAQ's journeys as server-rendered French pages (CONTRACT.md, "Member
portal pages"), over the same use cases and schemas as the JSON API.

Every page works with plain links and forms, without JavaScript, except the passkey ceremonies:
WebAuthn is a browser API, so adding a passkey, signing in or confirming one's identity with one
needs our one script (static/passkeys.js). Without it, or in a browser without WebAuthn, those
buttons stay hidden, and the pages offer the password and the recovery codes instead. Every form
is CSRF-checked (Flask-WTF); every answer is `no-store` (personal data) with a policy that allows
only our own stylesheet and script, and requests to our own origin. Routes live in public.py and
passkey_sign_in.py (before sign-in), space.py, security.py and passkey_pages.py (the member's
space).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from adapters.http.errors import error_response, from_http_exception
from adapters.http.pages import (  # noqa: F401  (their routes join the blueprint)
    passkey_pages,
    passkey_sign_in,
    public,
    security,
    space,
)
from adapters.http.pages.blueprint import CSP, bp, http_error


def wants_page() -> bool:
    """A browser asking for a page outside the API gets a page; everything else the JSON."""
    if request.path.startswith("/api/"):
        return False
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def register_pages(app: Flask) -> None:
    app.register_blueprint(bp)

    def not_found_or_not_allowed(error: HTTPException) -> Any:
        if wants_page():
            page, status, headers = http_error(error)
            return page, status, {**headers, "Cache-Control": "no-store",
                                  "Content-Security-Policy": CSP}
        return error_response(from_http_exception(error))

    app.register_error_handler(404, not_found_or_not_allowed)
    app.register_error_handler(405, not_found_or_not_allowed)
