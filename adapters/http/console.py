"""The support console: the support API's queue and registration decisions as HTML pages.

A plain Flask blueprint (pages, not API operations): its routes, its request hooks and its error
pages. The agent signs in with a staff token of role `support` (console_session); the pages are
rendered from templates/console/ (console_pages). Every form carries a CSRF token (Flask-WTF); the
JSON API, which authenticates with bearer tokens, is not CSRF-checked (create_app).
"""

from __future__ import annotations

import contextlib
from typing import Any
from uuid import UUID

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from adapters.http.console_pages import error_page, item_or_error, item_page, labels
from adapters.http.console_session import (
    end_session,
    session_staff,
    signed_in,
    start_session,
    support_staff,
)
from adapters.http.errors import (
    BY_HTTP_STATUS,
    DOMAIN_ERRORS,
    MESSAGES,
    STATUS,
    UNAVAILABLE,
)
from adapters.http.schemas import no_control_characters
from adapters.http.services import services
from domain import errors as domain
from projections.support_queue import (
    KINDS,
    SupportQueue,
    decode_cursor,
    encode_cursor,
    item_id,
)

bp = Blueprint("console", __name__, url_prefix="/support", template_folder="templates")

PAGE_SIZE = 50
NOTE_MAX = 2000
# After a decision, how long the redirect waits for the queue to show it.
QUEUE_CATCH_UP_SECONDS = 2.0

SIGN_IN_REFUSED = "Ce jeton est inconnu ou ne donne pas accès à la console du support."
ALREADY_DECIDED = "Cette demande a déjà été traitée."
ACCOUNT_EXISTS = (
    "Un compte est déjà ouvert pour cet adhérent : la demande ne peut pas être approuvée. "
    "Vous pouvez la rejeter."
)


@bp.before_request
def check_csrf() -> None:
    # Raises CSRFError (400) on a POST without a valid token; GET passes.
    current_app.extensions["csrf"].protect()


@bp.after_request
def page_headers(response: Any) -> Any:
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    return response


bp.context_processor(labels)


# Pages.


@bp.route("/", methods=["GET", "POST"])
def sign_in() -> Any:
    if request.method in ("GET", "HEAD"):
        if session_staff() is not None:
            return redirect(url_for("console.queue"))
        return render_template("console/sign_in.html")
    token = request.form.get("token", "").strip()
    staff = support_staff(token)
    if staff is None:
        return render_template("console/sign_in.html", error=SIGN_IN_REFUSED), 401
    start_session(token)
    return redirect(url_for("console.queue"))


@bp.post("/signout")
def sign_out() -> Any:
    end_session()
    flash("Vous êtes déconnecté(e).", "info")
    return redirect(url_for("console.sign_in"))


@bp.get("/queue")
@signed_in
def queue() -> Any:
    kind = request.args.get("kind", KINDS[0])
    if kind not in KINDS:
        return error_page(404, "Cette file n'existe pas.")
    after = None
    cursor = request.args.get("cursor")
    if cursor is not None:
        after = decode_cursor(cursor) if len(cursor) <= 100 else None
        if after is None:
            return error_page(400, "Le lien de page suivante n'est pas valide.")
    rows, next_seq = services().support_queue.list_items(kind, "open", PAGE_SIZE, after)
    return render_template(
        "console/queue.html", kind=kind, rows=rows, first_page=after is None,
        next_cursor=encode_cursor(next_seq) if next_seq is not None else None,
    )


@bp.get("/items/<item_id>")
@signed_in
def item(item_id: str) -> Any:
    row = services().support_queue.get_item(item_id)
    if row is None:
        return error_page(404, "Cet élément de la file n'existe pas.")
    return item_page(row)


@bp.post("/registrations/<registration_id>/decision")
@signed_in
def decide_registration(registration_id: str) -> Any:
    try:
        registration = UUID(registration_id)
    except ValueError:
        return error_page(404, "Cette demande d'inscription n'existe pas.")
    row = services().support_queue.get_item(item_id("identity_review", str(registration)))
    decision = request.form.get("decision", "")
    note = " ".join(request.form.get("note", "").split())  # the note is one line of text
    problem = _form_problem(decision, note)
    if problem:
        return item_or_error(row, 422, problem, note)
    s = services()
    try:
        s.outbox.check()
        s.use_cases.support.decide_registration(
            registration, decision == "approve", g.staff.name, note
        )
    except domain.AlreadyDecidedError:
        return item_or_error(row, 409, ALREADY_DECIDED)
    except domain.AccountExistsError:
        return item_or_error(row, 409, ACCOUNT_EXISTS, note)
    except domain.RegistrationNotFoundError:
        return error_page(404, "Cette demande d'inscription n'existe pas.")
    _wait_for_queue()
    if decision == "approve":
        flash("Demande approuvée : le compte est ouvert et les codes d'accès partent par e-mail.",
              "success")
    else:
        flash("Demande rejetée : la personne en est informée par e-mail.", "success")
    return redirect(url_for("console.queue", kind="identity_review"))


def _form_problem(decision: str, note: str) -> str | None:
    if decision not in ("approve", "reject"):
        return "Choisissez « Approuver » ou « Rejeter »."
    if len(note) > NOTE_MAX:
        return f"La note dépasse {NOTE_MAX} caractères."
    try:
        no_control_characters(note)
    except ValidationError:
        return "La note contient des caractères de contrôle ou de mise en forme."
    return None


def _wait_for_queue() -> None:
    """So the queue the agent is sent back to no longer shows what was just decided."""
    s = services()
    # If the queue is behind, the item stays listed a little while: no harm.
    with contextlib.suppress(TimeoutError):
        s.support_queue.wait(
            SupportQueue.name, s.lifecycle.recorder.max_notification_id(),
            timeout=QUEUE_CATCH_UP_SECONDS,
        )


# Errors inside the console are pages, not the API's JSON.


@bp.errorhandler(CSRFError)
def csrf_error(error: CSRFError) -> Any:
    return error_page(
        400, "Le formulaire a expiré ou n'est pas valide. Rechargez la page et recommencez."
    )


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Any:
    status = error.code or 500
    return error_page(status, MESSAGES[BY_HTTP_STATUS.get(status, "internal_error")])


@bp.errorhandler(domain.DomainError)
def domain_error(error: domain.DomainError) -> Any:
    code = next((c for t, c in DOMAIN_ERRORS.items() if isinstance(error, t)), "conflict")
    return error_page(STATUS[code], MESSAGES[code])


def _unavailable(error: Exception) -> Any:
    page, status = error_page(503, MESSAGES["service_unavailable"])
    return page, status, {"Retry-After": "5"}


for _kind in UNAVAILABLE:
    bp.register_error_handler(_kind, _unavailable)
