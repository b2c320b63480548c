"""The support console: the support API's queue and registration decisions as HTML pages.

A plain Flask blueprint (pages, not API operations). The agent signs in with a staff token of
role `support`; it is kept in the Flask session, encrypted: the session cookie is only signed, and
no response may show a token (CONTRACT.md). Every form carries a CSRF token (Flask-WTF); the
JSON API, which authenticates with bearer tokens, is not CSRF-checked (create_app).
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any
from uuid import UUID

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

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
from domain.credentials import normalise_name
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
TOKEN_MAX = 200
# How long a console sign-in lasts, whatever the browser does with its session cookie.
SIGN_IN_LIFETIME_SECONDS = 12 * 3600
# After a decision, how long the redirect waits for the queue to show it.
QUEUE_CATCH_UP_SECONDS = 2.0
SESSION_KEY = "console_staff"

KIND_LABELS = {
    "identity_review": "Vérifications d'identité",
    "undelivered_email": "E-mails non remis",
    "email_update": "Changements d'adresse",
    "closure": "Clôtures",
    "other": "Autres",
}
ITEM_TITLES = {
    "identity_review": "Vérification d'identité",
    "undelivered_email": "E-mail des codes d'accès non remis",
    "email_update": "Changement d'adresse e-mail",
    "closure": "Demande de clôture",
    "other": "Autre demande",
}
DETAIL_LABELS = {  # the details of the other kinds, in this order
    "last_name": "Nom",
    "first_name": "Prénom",
    "member_number": "Numéro d'adhérent",
    "birth_date": "Date de naissance",
    "identifier": "Identifiant",
    "email": "Adresse e-mail",
    "new_email": "Nouvelle adresse e-mail",
    "account_found": "Compte trouvé",
    "message": "Message",
}
DECISIONS = {"approve": "Approuvée", "reject": "Rejetée", "accept": "Acceptée"}
SIGN_IN_REFUSED = "Ce jeton est inconnu ou ne donne pas accès à la console du support."
ALREADY_DECIDED = "Cette demande a déjà été traitée."
ACCOUNT_EXISTS = (
    "Un compte est déjà ouvert pour cet adhérent : la demande ne peut pas être approuvée. "
    "Vous pouvez la rejeter."
)


# The staff token in the session, encrypted with a key derived from the app's secret.


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


def _support_staff(token: str | None) -> Any:
    if not token or len(token) > TOKEN_MAX:
        return None
    staff = services().staff_tokens.find(token)
    return staff if staff is not None and staff.role == "support" else None


def signed_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """Only an agent signed in with a live support token gets through; g.staff is who."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        staff = _support_staff(_stored_token())
        if staff is None:
            session.pop(SESSION_KEY, None)
            flash("Veuillez vous connecter avec votre jeton d'accès.", "info")
            return redirect(url_for("console.sign_in"))
        g.staff = staff
        return view(*args, **kwargs)

    return wrapper


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


def when(text: str | None) -> str:
    """An ISO instant as agents read it: 26/11/2026 à 10:00 UTC."""
    if not text:
        return ""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%d/%m/%Y à %H:%M UTC")


@bp.context_processor
def labels() -> dict[str, Any]:
    return {
        "KIND_LABELS": KIND_LABELS, "ITEM_TITLES": ITEM_TITLES, "DETAIL_LABELS": DETAIL_LABELS,
        "DECISIONS": DECISIONS, "when": when, "staff": g.get("staff"),
    }


# Pages.


@bp.route("/", methods=["GET", "POST"])
def sign_in() -> Any:
    if request.method in ("GET", "HEAD"):
        if _support_staff(_stored_token()) is not None:
            return redirect(url_for("console.queue"))
        return render_template("console/sign_in.html")
    token = request.form.get("token", "").strip()
    staff = _support_staff(token)
    if staff is None:
        return render_template("console/sign_in.html", error=SIGN_IN_REFUSED), 401
    session.clear()  # a fresh session (and CSRF token) for the agent
    session[SESSION_KEY] = _fernet().encrypt(token.encode()).decode()
    return redirect(url_for("console.queue"))


@bp.post("/signout")
def sign_out() -> Any:
    session.clear()
    flash("Vous êtes déconnecté(e).", "info")
    return redirect(url_for("console.sign_in"))


@bp.get("/queue")
@signed_in
def queue() -> Any:
    kind = request.args.get("kind", KINDS[0])
    if kind not in KINDS:
        return _error_page(404, "Cette file n'existe pas.")
    after = None
    cursor = request.args.get("cursor")
    if cursor is not None:
        after = decode_cursor(cursor) if len(cursor) <= 100 else None
        if after is None:
            return _error_page(400, "Le lien de page suivante n'est pas valide.")
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
        return _error_page(404, "Cet élément de la file n'existe pas.")
    return _item_page(row)


@bp.post("/registrations/<registration_id>/decision")
@signed_in
def decide_registration(registration_id: str) -> Any:
    try:
        registration = UUID(registration_id)
    except ValueError:
        return _error_page(404, "Cette demande d'inscription n'existe pas.")
    row = services().support_queue.get_item(item_id("identity_review", str(registration)))
    decision = request.form.get("decision", "")
    note = " ".join(request.form.get("note", "").split())  # the note is one line of text
    problem = _form_problem(decision, note)
    if problem:
        return _item_or_error(row, 422, problem, note)
    s = services()
    try:
        s.outbox.check()
        s.lifecycle.decide_registration(registration, decision == "approve", g.staff.name, note)
    except domain.AlreadyDecidedError:
        return _item_or_error(row, 409, ALREADY_DECIDED)
    except domain.AccountExistsError:
        return _item_or_error(row, 409, ACCOUNT_EXISTS, note)
    except domain.RegistrationNotFoundError:
        return _error_page(404, "Cette demande d'inscription n'existe pas.")
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
        return "La note contient des caractères de contrôle."
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


def _item_page(
    row: dict[str, Any], status: int = 200, error: str | None = None, note: str = ""
) -> Any:
    details = json.loads(row["details"]) if row["details"] else {}
    decision = json.loads(row["decision"]) if row["decision"] else None
    return render_template(
        "console/item.html", row=row, details=details, decision=decision, error=error,
        note=note, names=_names(details),
    ), status


def _names(details: dict[str, Any]) -> list[dict[str, Any]]:
    """For identity_review: each name as declared and as in the directory, and if they differ."""
    declared, directory = details.get("declared"), details.get("directory")
    if not isinstance(declared, dict) or not isinstance(directory, dict):
        return []  # not an identity review, or its personal data was erased
    names = []
    for field, label in (("last_name", "Nom"), ("first_name", "Prénom")):
        mine, theirs = declared.get(field, ""), directory.get(field, "")
        names.append({
            "label": label, "declared": mine, "directory": theirs,
            "differs": normalise_name(mine) != normalise_name(theirs),
        })
    return names


def _item_or_error(row: dict[str, Any] | None, status: int, message: str, note: str = "") -> Any:
    if row is None:  # the queue has not caught up with this registration yet
        return _error_page(status, message)
    return _item_page(row, status, message, note)


def _error_page(status: int, message: str) -> Any:
    return render_template("console/error.html", status=status, message=message), status


# Errors inside the console are pages, not the API's JSON.


@bp.errorhandler(CSRFError)
def csrf_error(error: CSRFError) -> Any:
    return _error_page(
        400, "Le formulaire a expiré ou n'est pas valide. Rechargez la page et recommencez."
    )


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Any:
    status = error.code or 500
    return _error_page(status, MESSAGES[BY_HTTP_STATUS.get(status, "internal_error")])


@bp.errorhandler(domain.DomainError)
def domain_error(error: domain.DomainError) -> Any:
    code = next((c for t, c in DOMAIN_ERRORS.items() if isinstance(error, t)), "conflict")
    return _error_page(STATUS[code], MESSAGES[code])


def _unavailable(error: Exception) -> Any:
    page, status = _error_page(503, MESSAGES["service_unavailable"])
    return page, status, {"Retry-After": "5"}


for _kind in UNAVAILABLE:
    bp.register_error_handler(_kind, _unavailable)
