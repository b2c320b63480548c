"""Finding an account (by identifier or member number), its page, and the account actions:
re-sending the credentials, unlocking, and exporting the member's data for a member who wrote
in (the document of GET /api/v1/me/export). The actions call the use cases the API calls.

A member number finds an account through the data-subject index that registration keeps
(DataSubjects.find, then the MemberIndex): nothing new is stored, so an erased member's
number finds nothing, as CONTRACT.md "Erasure" wants.
"""

from __future__ import annotations

import re
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for

from adapters.http.console import history
from adapters.http.console.blueprint import bp
from adapters.http.console.session import signed_in
from adapters.http.member_data import attachment, document, export
from adapters.http.pages.forms import Form
from adapters.http.services import services
from adapters.http.support import account_summary
from domain.account import Account
from domain.errors import AccountClosedError
from domain.indexes import MemberIndex

IDENTIFIER = re.compile(r"[0-9]{8}")
MEMBER_NUMBER = re.compile(r"[A-Z0-9]{1,20}")
PENDING_SHOWN = 20
SEARCH_MAX = 40
WHAT_TO_TYPE = (
    "Saisissez un identifiant (8 chiffres) ou un numéro d'adhérent (lettres majuscules et "
    "chiffres, par exemple M1000001)."
)
NOTHING_FOUND = "Aucun compte ouvert ne correspond à « {} »."
RESENT = (
    "Un nouveau mot de passe temporaire part par e-mail avec l'identifiant, à l'adresse du "
    "compte. Le mot de passe actuel du membre reste valable jusqu'à ce qu'il s'en serve."
)
UNLOCKED = "Le compte est débloqué : le membre peut se connecter à nouveau."
CLOSED = "Ce compte est clôturé : il ne peut plus recevoir de codes d'accès ni être débloqué."


@bp.get("/accounts")
@signed_in
def search() -> Any:
    typed = request.args.get("q", "").strip()
    form = Form(values={"q": typed[:SEARCH_MAX]})
    if not typed or len(typed) > SEARCH_MAX or not (
        IDENTIFIER.fullmatch(typed) or MEMBER_NUMBER.fullmatch(typed.upper())
    ):
        form.refuse("validation_error", {"q": [WHAT_TO_TYPE]})
        return render_template("console/search.html", form=form), 422
    account = found(typed)
    if account is None:
        return render_template(
            "console/search.html", form=form, nothing=NOTHING_FOUND.format(typed)
        ), 404
    return redirect(url_for("console.account", identifier=account.identifier))


def found(typed: str) -> Account | None:
    """The account of an identifier, else of a member number (an 8-digit member number is
    possible: the identifier is tried first)."""
    s = services()
    if IDENTIFIER.fullmatch(typed):
        account = s.lifecycle.account_by_identifier(typed)
        if account is not None:
            return account
    subject = s.use_cases.support.subjects.find(typed.upper())
    index = s.lifecycle.index_or_none(subject) if subject is not None else None
    if not isinstance(index, MemberIndex) or index.account_id is None:
        return None  # no account, or closed: closure unlinks the member's index
    return s.lifecycle.account(index.account_id)


@bp.get("/accounts/<identifier>")
@signed_in
def account(identifier: str) -> Any:
    return account_page(identifier)


def account_page(identifier: str, status: int = 200, error: str | None = None) -> Any:
    s = services()
    account = s.use_cases.support.account_for_support(identifier)  # unknown: a 404 page
    return render_template(
        "console/account.html", summary=account_summary(account), error=error,
        last_sign_in=history.last_sign_in(account), lines=history.recent(account.id),
        pending=s.support_queue.open_items_of_account(str(account.id), PENDING_SHOWN),
    ), status


@bp.post("/accounts/<identifier>/credentials")
@signed_in
def resend(identifier: str) -> Any:
    s = services()
    s.outbox.check()
    try:
        s.use_cases.support.resend_credentials(identifier, g.staff.name)
    except AccountClosedError:
        return account_page(identifier, 409, CLOSED)
    flash(RESENT, "success")
    return redirect(url_for("console.account", identifier=identifier))


@bp.post("/accounts/<identifier>/unlock")
@signed_in
def unlock(identifier: str) -> Any:
    try:
        services().use_cases.support.unlock(identifier, g.staff.name)
    except AccountClosedError:
        return account_page(identifier, 409, CLOSED)
    flash(UNLOCKED, "success")
    return redirect(url_for("console.account", identifier=identifier))


@bp.post("/accounts/<identifier>/export")
@signed_in
def export_data(identifier: str) -> Any:
    try:
        data = export().for_support(identifier, g.staff.name)
    except AccountClosedError:
        return account_page(identifier, 409, CLOSED)
    return attachment(document(data))
