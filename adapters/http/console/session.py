"""The console's sign-in: a server-side console session (StaffTokens.open_console)
whose random id is kept sealed in the Flask session, and the decorators that let only a live
session of a live token of the page's role through: `signed_in` for the support pages,
`auditor_signed_in` for the audit pages.

The session ends on the server: at sign-out its row is deleted, so a copy of the cookie opens
nothing; and it is looked up with its token on every page, so revoking or outliving the token
ends it at once, in every process. The cookie is only signed, and no response may show a
credential (CONTRACT.md): the id is stored encrypted, with a key derived from the app's secret.

Support and audit are separate duties (CONTRACT.md, "Console"): an auditor reads everything and
decides nothing, an agent decides and does not browse the audit log. A page of the other role
answers 403 before its view runs, so nothing is recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import flash, g, redirect, session, url_for

from adapters.http.console.blueprint import error_page
from adapters.http.console.labels import HOMES
from adapters.http.sealed_cookie import seal, unsealed
from adapters.http.services import services
from adapters.staff_tokens import CONSOLE_LIFETIME

TOKEN_MAX = 200
SESSION_KEY = "console_session"
SUPPORT, AUDITOR = "support", "auditor"
OTHER_ROLE = {
    SUPPORT: "Cette page est réservée aux auditeurs : votre jeton d'accès est celui du support.",
    AUDITOR: "Cette page est réservée au support : votre jeton d'accès d'auditeur permet de "
    "consulter le journal d'audit, pas de traiter les demandes ni d'agir sur un compte.",
}


def _session_id() -> str | None:
    return unsealed(SESSION_KEY, CONSOLE_LIFETIME)


def console_staff(token: str | None) -> Any:
    """The staff member of this token if it is a live support or auditor token, else None."""
    if not token or len(token) > TOKEN_MAX:
        return None
    staff = services().staff_tokens.find(token)
    return staff if staff is not None and staff.role in HOMES else None


def session_staff() -> Any:
    """The support agent or auditor signed in with this session, else None."""
    session_id = _session_id()
    if session_id is None:
        return None
    staff = services().staff_tokens.console_staff(session_id)
    return staff if staff is not None and staff.role in HOMES else None


def home(staff: Any) -> str:
    """The URL of the role's first page: the queue for an agent, the audit home for an auditor."""
    return url_for(HOMES.get(getattr(staff, "role", None), "console.sign_in"))


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


def _for_role(role: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            staff = session_staff()
            if staff is None:
                session.pop(SESSION_KEY, None)
                flash("Veuillez vous connecter avec votre jeton d'accès.", "info")
                return redirect(url_for("console.sign_in"))
            g.staff = staff  # the error page's menu is the signed-in role's
            if staff.role != role:
                return error_page(403, OTHER_ROLE[staff.role])
            return view(*args, **kwargs)

        return wrapper

    return decorator


signed_in = _for_role(SUPPORT)
signed_in.__doc__ = "Only an agent signed in with a live support token gets through."
auditor_signed_in = _for_role(AUDITOR)
auditor_signed_in.__doc__ = "Only an auditor signed in with a live auditor token gets through."
