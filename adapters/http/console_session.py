"""The support console's sign-in: the agent's staff token kept in the Flask session, and the
`signed_in` decorator that lets only a live support token through.

The session cookie is only signed, and no response may show a token (CONTRACT.md): the token is
stored encrypted, with a key derived from the app's secret.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from functools import wraps
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, flash, g, redirect, session, url_for

from adapters.http.services import services

TOKEN_MAX = 200
# How long a console sign-in lasts, whatever the browser does with its session cookie.
SIGN_IN_LIFETIME_SECONDS = 12 * 3600
SESSION_KEY = "console_staff"


def _fernet() -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"account-lifecycle console session"
    ).derive(current_app.secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _stored_token() -> str | None:
    sealed = session.get(SESSION_KEY)
    if not isinstance(sealed, str):
        return None
    try:
        return _fernet().decrypt(sealed, ttl=SIGN_IN_LIFETIME_SECONDS).decode()
    except InvalidToken:
        return None


def support_staff(token: str | None) -> Any:
    """The staff member of this token if it is a live support token, else None."""
    if not token or len(token) > TOKEN_MAX:
        return None
    staff = services().staff_tokens.find(token)
    return staff if staff is not None and staff.role == "support" else None


def session_staff() -> Any:
    """The support staff member signed in with this session, else None."""
    return support_staff(_stored_token())


def start_session(token: str) -> None:
    """Signs the agent in with this (already checked) token."""
    session.clear()  # a fresh session (and CSRF token) for the agent
    session[SESSION_KEY] = _fernet().encrypt(token.encode()).decode()


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
