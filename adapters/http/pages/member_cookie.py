"""The portal's sign-in: the member session the API would hand out, kept sealed in the cookie.

The cookie holds nothing a bearer token would not: the session's token, encrypted under a key
derived from the app's secret (the Flask session cookie is only signed, and no response may
show a credential). Every page looks the token up through the same MemberSessions as the API,
so the idle timeout, the absolute lifetime and every revocation (sign-out, password change,
closure) end a page session exactly as they end an API one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import flash, g, redirect, session, url_for

from adapters.http.sealed_cookie import seal, unsealed
from adapters.http.services import services
from adapters.sessions import ABSOLUTE_LIFETIME

COOKIE_KEY = "member_session"
SIGN_IN_FIRST = "Veuillez vous connecter pour accéder à votre Espace Client."


def _token() -> str | None:
    return unsealed(COOKIE_KEY, ABSOLUTE_LIFETIME)


def current_member() -> Any:
    """The live member session behind this cookie (API rules), else None."""
    token = _token()
    return None if token is None else services().sessions.find(token)


def keep(token: str) -> None:
    """Signs the member in with a session just opened by the sign-in use case."""
    session.clear()  # a fresh cookie, and a fresh CSRF token, for the signed-in member
    seal(COOKIE_KEY, token)


def forget() -> None:
    """Signs out: the server's session ends first, since the cookie may have been copied."""
    member = current_member()
    if member is not None:
        services().use_cases.sign_in.sign_out(member.digest)
    session.clear()


def member_page(*, temporary_allowed: bool = False) -> Callable[[Callable[..., Any]], Any]:
    """Only a live member session gets through (g.member); a session opened with a temporary
    password only reaches the forced change, as the API allows it only that."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            g.member = None  # if the look-up fails, the error page must not try it again
            member = current_member()
            if member is None:
                had_cookie = COOKIE_KEY in session
                session.pop(COOKIE_KEY, None)
                flash(SESSION_ENDED if had_cookie else SIGN_IN_FIRST, "info")
                return redirect(url_for("pages.sign_in"))
            if member.temporary and not temporary_allowed:
                return redirect(url_for("pages.new_password"))
            g.member = member
            return view(*args, **kwargs)

        return wrapper

    return decorator


SESSION_ENDED = (
    "Votre session a pris fin (déconnexion, inactivité de 30 minutes ou changement de mot de "
    "passe). Veuillez vous reconnecter."
)
