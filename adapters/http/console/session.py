"""The console's sign-in: a server-side console session (StaffTokens.open_console)
whose random id is kept sealed in the Flask session, and the `signed_in` decorator that lets
only a live session of a live support token through.

The session ends on the server: at sign-out its row is deleted, so a copy of the cookie opens
nothing; and it is looked up with its token on every page, so revoking or outliving the token
ends it at once, in every process. The cookie is only signed, and no response may show a
credential (CONTRACT.md): the id is stored encrypted, with a key derived from the app's secret.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import flash, g, redirect, session, url_for

from adapters.http.sealed_cookie import seal, unsealed
from adapters.http.services import services
from adapters.sessions import CONSOLE_LIFETIME

TOKEN_MAX = 200
SESSION_KEY = "console_session"


def _session_id() -> str | None:
    return unsealed(SESSION_KEY, CONSOLE_LIFETIME)


def support_staff(token: str | None) -> Any:
    """The staff member of this token if it is a live support token, else None."""
    if not token or len(token) > TOKEN_MAX:
        return None
    staff = services().staff_tokens.find(token)
    return staff if staff is not None and staff.role == "support" else None


def session_staff() -> Any:
    """The support staff member signed in with this session, else None."""
    session_id = _session_id()
    if session_id is None:
        return None
    staff = services().staff_tokens.console_staff(session_id)
    return staff if staff is not None and staff.role == "support" else None


def start_session(token: str) -> None:
    """Signs the agent in with this (already checked) token."""
    session.clear()  # a fresh session (and CSRF token) for the agent
    session_id = services().staff_tokens.open_console(token)
    seal(SESSION_KEY, session_id)


def end_session() -> None:
    """Signs the agent out, on the server first: the cookie may have been copied."""
    session_id = _session_id()
    if session_id is not None:
        services().staff_tokens.close_console(session_id)
    session.clear()


def signed_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """Only an agent signed in with a live support token gets through; g.staff is who."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        staff = session_staff()
        if staff is None:
            session.pop(SESSION_KEY, None)
            flash("Veuillez vous connecter avec votre jeton d'accès.", "info")
            return redirect(url_for("console.sign_in"))
        g.staff = staff
        return view(*args, **kwargs)

    return wrapper
