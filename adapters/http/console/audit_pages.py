"""The auditor's pages of the console (/support/audit/…): an account found by its identifier
(or member number), its timeline, its state at an instant, what changed between two instants,
the global feed page by page, and the last `audit verify` run. Read-only, for role auditor
only (session.py `auditor_signed_in`), over the use cases the audit API calls (audit.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import redirect, render_template, request, url_for
from marshmallow import ValidationError

from adapters.audit_verify import last_run
from adapters.http.audit_schemas import FeedQuerySchema
from adapters.http.console import audit_view
from adapters.http.console.accounts import (
    IDENTIFIER,
    MEMBER_NUMBER,
    SEARCH_MAX,
    WHAT_TO_TYPE,
    found,
)
from adapters.http.console.blueprint import bp, error_page
from adapters.http.console.session import auditor_signed_in
from adapters.http.console.timeline_svg import legend, timeline
from adapters.http.pages.forms import Form
from adapters.http.services import services
from domain.errors import AccountNotFoundError

FEED_PAGE = 50
NOTHING_FOUND = (
    "Aucun compte ne correspond à « {} ». Un compte clôturé se retrouve par son identifiant."
)
REQUIRED = "Champ obligatoire."
WHAT_INSTANT = (
    "Saisissez la date et l'heure au format JJ/MM/AAAA HH:MM, par exemple 03/12/2026 14:05."
)
IN_ORDER = "Le second instant doit suivre le premier."
NOT_YET = "Le compte n'existait pas encore à cet instant : son premier événement date du {}."
BAD_PAGE = "Ce lien de page n'est pas valable : repartez du début du journal."


@bp.get("/audit")
@auditor_signed_in
def audit_home() -> Any:
    return render_template("console/audit_home.html", form=Form(), run=last_run(
        services().database))


@bp.get("/audit/accounts")
@auditor_signed_in
def audit_search() -> Any:
    typed = request.args.get("q", "").strip()
    form = Form(values={"q": typed[:SEARCH_MAX]})
    if not typed or len(typed) > SEARCH_MAX or not (
        IDENTIFIER.fullmatch(typed) or MEMBER_NUMBER.fullmatch(typed.upper())
    ):
        form.refuse("validation_error", {"q": [WHAT_TO_TYPE]})
        return render_template("console/audit_home.html", form=form), 422
    account = found(typed)
    if account is None:
        return render_template(
            "console/audit_home.html", form=form, nothing=NOTHING_FOUND.format(typed)
        ), 404
    return redirect(url_for("console.audit_account", identifier=account.identifier))


def _entries(identifier: str) -> list[audit_view.Entry]:
    # Unknown: AccountNotFoundError, which the blueprint answers with a 404 page.
    return audit_view.entries(services().use_cases.audit.history(identifier))


@bp.get("/audit/accounts/<identifier>")
@auditor_signed_in
def audit_account(identifier: str) -> Any:
    entries = _entries(identifier)
    title = f"Frise chronologique du compte {identifier}"
    return render_template(
        "console/audit_account.html", identifier=identifier, entries=entries,
        picture=timeline(entries, title), legend=legend(),
        minute=audit_view.field_value,
    )


def _instant(form: Form, name: str) -> datetime | None:
    """The instant typed in the field `name`, else None with the field's error kept."""
    text = form.values.get(name, "")
    if not text.strip():
        form.refuse("validation_error", {name: [REQUIRED]})
        return None
    moment = audit_view.typed_instant(text)
    if moment is None:
        form.refuse("validation_error", {name: [WHAT_INSTANT]})
    return moment


def _state(identifier: str, at: datetime) -> list[tuple[str, str]] | None:
    """The state in words at `at`; None when the account did not exist yet."""
    try:
        then = services().use_cases.audit.state_at(identifier, at)
    except AccountNotFoundError:
        services().lifecycle.known_account(identifier)  # unknown altogether: a 404 page
        return None
    return audit_view.state_words(then.identifier, at, then.version, then.state)


@bp.get("/audit/accounts/<identifier>/state")
@auditor_signed_in
def audit_state(identifier: str) -> Any:
    services().lifecycle.known_account(identifier)
    form = Form(values={"at": request.args.get("at", "")[:40]})
    page = {"identifier": identifier, "form": form, "state": None, "at": None}
    if "at" not in request.args:
        return render_template("console/audit_state.html", **page)
    at = _instant(form, "at")
    if at is None:
        return render_template("console/audit_state.html", **page), 422
    page |= {"at": at, "state": _state(identifier, at)}
    if page["state"] is None:
        first = _entries(identifier)
        opened = next((e.at for e in first if e.family == "account"), None)
        page["missing"] = NOT_YET.format(audit_view.when(opened)) if opened else None
        return render_template("console/audit_state.html", **page), 404
    return render_template("console/audit_state.html", **page)


@bp.get("/audit/accounts/<identifier>/changes")
@auditor_signed_in
def audit_changes(identifier: str) -> Any:
    services().lifecycle.known_account(identifier)
    form = Form(values={name: request.args.get(name, "")[:40] for name in ("from", "to")})
    page = {"identifier": identifier, "form": form, "changes": None}
    if "from" not in request.args or "to" not in request.args:
        # Not sent by the form (which sends both): a link that fills one in, or none.
        return render_template("console/audit_changes.html", **page)
    start, end = _instant(form, "from"), _instant(form, "to")
    if start is not None and end is not None and end <= start:
        form.refuse("validation_error", {"to": [IN_ORDER]})
    if form.refused or start is None or end is None:
        return render_template("console/audit_changes.html", **page), 422
    before, after = _state(identifier, start), _state(identifier, end)
    page |= {
        "start": start, "end": end, "before": before, "after": after,
        "changes": audit_view.changes(before, after),
        "events": audit_view.between(_entries(identifier), start, end),
    }
    return render_template("console/audit_changes.html", **page)


@bp.get("/audit/events")
@auditor_signed_in
def audit_feed() -> Any:
    try:
        after = FeedQuerySchema().load({"after": request.args.get("after", "0")})["after"]
    except ValidationError:
        return error_page(400, BAD_PAGE)
    # One more than shown: whether a next page exists, in the same query.
    feed = services().use_cases.audit.feed(after, FEED_PAGE + 1)
    shown = feed[:FEED_PAGE]
    return render_template(
        "console/audit_feed.html", entries=audit_view.entries(shown), after=after,
        next_after=shown[-1][0] if len(feed) > FEED_PAGE else None,
        previous_after=max(after - FEED_PAGE, 0) if after > 0 else None,
    )


CHECKPOINTS_SHOWN = 5  # the latest; an auditor who needs an older one asks the API for proofs


@bp.get("/audit/verification")
@auditor_signed_in
def audit_verification() -> Any:
    s = services()
    return render_template("console/audit_verification.html", run=last_run(s.database),
                           checkpoints=s.audit_proofs.published(limit=CHECKPOINTS_SHOWN))
