"""Deciding queue items through the use cases the support API calls: identity reviews
(registrations) and requests (e-mail update, closure, other). What cannot be undone — rejecting
a registration, accepting a closure — is confirmed on a page of its own first."""

from __future__ import annotations

import contextlib
from typing import Any
from uuid import UUID

from flask import flash, g, redirect, render_template, request, url_for

from adapters.http.console.blueprint import bp, domain_message, error_page
from adapters.http.console.forms import posted_decision, reason_groups
from adapters.http.console.labels import LABELS
from adapters.http.console.queue import item_page
from adapters.http.console.session import signed_in
from adapters.http.pages.forms import Form
from adapters.http.services import services
from domain import errors as domain
from domain.decision_reasons import reason_label
from domain.personal_data import ERASED
from domain.states import EnrollmentStatus
from domain.support_request import RequestStatus
from projections.support_queue import SupportQueue, item_id

# After a decision, how long the redirect waits for the queue to show it.
QUEUE_CATCH_UP_SECONDS = 2.0
CONFIRMED = "oui"
NO_ACCOUNT = (
    "Aucun compte ouvert ne correspond à cette demande : elle ne peut pas être acceptée. "
    "Vous pouvez la refuser."
)
DONE = {
    ("identity_review", "approve"): "Demande approuvée : le compte est ouvert et les codes "
    "d'accès partent par e-mail.",
    ("identity_review", "reject"): "Demande rejetée : la personne en est informée par e-mail.",
    ("email_update", "accept"): "Demande acceptée : l'adresse e-mail du compte est modifiée et "
    "de nouveaux codes d'accès y sont envoyés.",
    ("closure", "accept"): "Demande acceptée : le compte est clôturé, ses sessions sont "
    "fermées et les données personnelles du membre sont effacées.",
    ("other", "accept"): "Demande acceptée.",
}
REASON = "Motif"  # the select's accessible name, beside the contract's
REFUSED = "Demande refusée."
REPLY_SENT = " La réponse part par e-mail au demandeur."
UNSENT = (
    " La demande n'indique aucune adresse e-mail : la réponse est enregistrée sans être envoyée."
)


@bp.context_processor
def reasons_context() -> dict[str, Any]:
    """The reasons a decision form offers and how a decided item names its reason."""
    return {"LABELS": {**LABELS, "reason": REASON}, "reason_groups": reason_groups,
            "reason_label": reason_label, "ERASED": ERASED}


@bp.post("/registrations/<registration_id>/decision")
@signed_in
def decide_registration(registration_id: str) -> Any:
    s = services()
    enrollment = s.lifecycle.enrollment(_uuid(registration_id, domain.RegistrationNotFoundError))
    row = s.support_queue.get_item(item_id("identity_review", str(enrollment.id)))
    form, data = posted_decision("registration")
    if form.refused:
        return _shown_again(row, form)
    if enrollment.status != EnrollmentStatus.IDENTITY_REVIEW:
        return _shown_again(row, form, domain.AlreadyDecidedError(enrollment.status))
    if data["decision"] == "reject" and request.form.get("confirmed") != CONFIRMED:
        return _confirmation("reject_registration", row, data, request.path)
    try:
        s.outbox.check()
        s.use_cases.support.decide_registration(
            enrollment.id, data["decision"] == "approve", g.staff.name, data["note"],
            reason=data.get("reason"),
        )
    except domain.FieldError as error:
        return _shown_again(row, form.refuse("validation_error", {error.field: [error.message]}))
    except (domain.AlreadyDecidedError, domain.AccountExistsError) as error:
        return _shown_again(row, form, error)
    return _done("identity_review", data["decision"])


@bp.post("/requests/<request_id>/decision")
@signed_in
def decide_request(request_id: str) -> Any:
    s = services()
    asked = s.lifecycle.support_request(_uuid(request_id, domain.SupportRequestNotFoundError))
    kind = str(asked.kind)
    row = s.support_queue.get_item(item_id(kind, str(asked.id)))
    form, data = posted_decision("request", kind)
    if form.refused:
        return _shown_again(row, form)
    if asked.status != RequestStatus.OPEN:
        return _shown_again(row, form, domain.AlreadyDecidedError(asked.status))
    accept = data["decision"] == "accept"
    if accept and kind != "other" and asked.account_id is None:
        return _shown_again(row, form, domain.InvalidTransitionError("no account"))
    if accept and kind == "closure" and request.form.get("confirmed") != CONFIRMED:
        account = s.lifecycle.get_or_none(asked.account_id)
        return _confirmation("accept_closure", row, data, request.path,
                             identifier=getattr(account, "identifier", None))
    reply = data.get("reply")
    try:
        s.outbox.check()
        decided = s.use_cases.support.decide_request(
            asked.id, accept, g.staff.name, data["note"], data.get("new_email"), reply=reply,
            reason=data.get("reason"),
        )
    except domain.FieldError as error:
        return _shown_again(row, form.refuse("validation_error", {error.field: [error.message]}))
    except (domain.AlreadyDecidedError, domain.InvalidTransitionError,
            domain.AccountClosedError) as error:
        return _shown_again(row, form, error)
    return _done(kind, data["decision"], reply and (REPLY_SENT if decided.reachable else UNSENT))


def _uuid(text: str, unknown: type[domain.DomainError]) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise unknown(text) from None  # a 404 page, as for an id of nothing


def _shown_again(
    row: dict[str, Any] | None, form: Form, error: domain.DomainError | None = None
) -> Any:
    """The item again, with what was typed and why it was refused; nothing was recorded."""
    status, message = (422, None) if error is None else domain_message(error)
    if isinstance(error, domain.InvalidTransitionError):
        message = NO_ACCOUNT
    if row is None:  # the queue has not caught up with this item yet
        return error_page(status, message or form.message or "")
    # Once decided, no form is left to show again.
    shown = None if isinstance(error, domain.AlreadyDecidedError) else form
    return item_page(row, shown, status, message)


def _confirmation(
    step: str, row: dict[str, Any] | None, data: dict[str, Any], action: str,
    identifier: str | None = None,
) -> Any:
    """What the decision will do, in words, and the button that confirms it."""
    return render_template(
        "console/confirm.html", step=step, row=row, data=data, action=action,
        identifier=identifier, CONFIRMED=CONFIRMED,
    )


def _done(kind: str, decision: str, about_reply: str | None = None) -> Any:
    _wait_for_queue()
    message = DONE.get((kind, decision), REFUSED if decision == "reject" else "")
    flash(message + (about_reply or ""), "success")
    return redirect(url_for("console.queue", kind=kind))


def _wait_for_queue() -> None:
    """So the queue the agent is sent back to no longer shows what was just decided."""
    s = services()
    # If the queue is behind, the item stays listed a little while: no harm.
    with contextlib.suppress(TimeoutError):
        s.support_queue.wait(
            SupportQueue.name, s.lifecycle.recorder.max_notification_id(),
            timeout=QUEUE_CATCH_UP_SECONDS,
        )
