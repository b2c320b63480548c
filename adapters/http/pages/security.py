"""« Sécurité »: the member's passkeys and recovery codes, their connected devices, ended one
by one or all the others at once, and the download of their data. The same use cases as
/api/v1/me/passkeys, /me/sessions and /me/export; the passkey forms are in passkey_pages.py."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, session, url_for

from adapters.devices import device_name
from adapters.http.member_data import attachment, devices, document, export, session_views
from adapters.http.pages.blueprint import bp
from adapters.http.pages.forms import Form
from adapters.http.pages.member_cookie import member_page
from adapters.http.services import services
from domain.errors import ReauthenticationRequiredError
from domain.use_cases.devices import SessionNotFoundError
from domain.use_cases.passkeys import REAUTHENTICATION_WINDOW

ENDED = "L'appareil « {} » est déconnecté."
ALREADY_ENDED = "Cet appareil était déjà déconnecté."
OTHERS_ENDED = "Vos autres appareils sont déconnectés."
NO_OTHERS = "Aucun autre appareil n'était connecté."
SESSION_ID_MAX = 64  # ours are 22 characters; anything longer names none
SIGNED_OUT = "Vous êtes déconnecté(e). À bientôt sur votre Espace Client."


def reauthentication_due() -> bool:
    """Whether the passkey forms must first ask who is there (the use cases' own window)."""
    return services().clock() - g.member.authenticated_at > REAUTHENTICATION_WINDOW


def security_page(status: int = 200, *, add: Form | None = None,
                  confirm: Form | None = None) -> Any:
    """The page, with a refused form's errors when one was just posted."""
    account_id = g.member.account_id
    passkeys = services().use_cases.passkeys
    due, options = reauthentication_due(), None
    if not due:
        # Rendered here rather than fetched by the script: the challenge is only handed out
        # to a member who may use it (recently authenticated), and lives as long as that proof.
        try:
            options = passkeys.registration_options(account_id, g.member.authenticated_at)
        except ReauthenticationRequiredError:  # the window closed between the two looks
            due = True
    page = render_template(
        "portal/security.html",
        sessions=session_views(devices().listed(account_id), g.member.digest),
        keys=passkeys.listed(account_id), due=due, options=options,
        add=add or Form(), confirm=confirm or Form(),
        form=add or confirm or Form(),  # the refused one, for the page's title
    )
    return page, status


@bp.get("/mon-espace/securite")
@member_page()
def security() -> Any:
    return security_page()


# The session's id is a form field, not a part of the path: a URL names no session, and the
# route is one of the member's forms like any other.
@bp.post("/mon-espace/securite/appareil")
@member_page()
def end_session() -> Any:
    session_id = request.form.get("session_id", "")[:SESSION_ID_MAX]
    try:
        ended = devices().end(g.member.account_id, session_id, current=g.member.digest)
    except SessionNotFoundError:
        flash(ALREADY_ENDED, "info")
        return redirect(url_for("pages.security"))
    if ended.digest == g.member.digest:  # this very browser: a sign-out
        session.clear()
        flash(SIGNED_OUT, "info")
        return redirect(url_for("pages.sign_in"))
    flash(ENDED.format(device_name(ended.user_agent)), "success")
    return redirect(url_for("pages.security"))


@bp.post("/mon-espace/securite/autres-appareils")
@member_page()
def end_other_sessions() -> Any:
    ended = devices().end_others(g.member.account_id, g.member.digest)
    flash(OTHERS_ENDED if ended else NO_OTHERS, "success" if ended else "info")
    return redirect(url_for("pages.security"))


@bp.get("/mon-espace/mes-donnees.json")
@member_page()
def my_data() -> Any:
    return attachment(document(export().for_member(g.member.account_id), g.member.digest))
