"""The portal pages before sign-in: home, "Activer mon compte", sign-in, "Codes d'accès
oubliés ?", the e-mail verification and the contact form. Each POST calls the use case the
JSON endpoint calls, with the JSON endpoint's schema."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from uuid import UUID

from flask import current_app, redirect, render_template, request, url_for

from adapters.http.member import SignInSchema
from adapters.http.pages.blueprint import bp, error_page
from adapters.http.pages.forms import Form
from adapters.http.pages.member_cookie import current_member, keep
from adapters.http.portal import (
    MESSAGES,
    RECOVERY_ANSWER,
    RecoverySchema,
    RegistrationSchema,
    SupportRequestFormSchema,
    VerificationSchema,
)
from adapters.http.services import services
from domain import errors as domain
from domain.support_request import support_reference
from domain.use_cases.views import RecoveryRequest, RegistrationRequest, SupportRequestForm

REGISTRATION = ("member_number", "last_name", "first_name", "birth_date", "email",
                "secret_question", "secret_answer")
RECOVERY = ("member_number", "last_name", "first_name", "birth_date", "new_email",
            "secret_answer")
CONTACT = ("kind", "last_name", "first_name", "member_number", "birth_date", "identifier",
           "email", "new_email", "message")
SIGN_IN_REFUSED = (
    "Vérifiez votre identifiant (8 chiffres) et votre mot de passe, en respectant les "
    "minuscules et les majuscules. Après 5 essais infructueux, le compte est bloqué "
    "15 minutes."
)


@bp.get("/")
def home() -> Any:
    return render_template("portal/home.html")


@bp.route("/activer", methods=["GET", "POST"])
def register() -> Any:
    if not _posted():
        return render_template("portal/register.html", form=Form(), form_id=uuid.uuid4().hex)
    form = Form.posted(REGISTRATION)
    form_id = _form_id()
    data = form.load(RegistrationSchema(), days=("birth_date",))
    view = None
    if data is not None:
        s = services()
        s.outbox.check()
        view = form.run(lambda: s.use_cases.registration.register(
            RegistrationRequest(**data), idempotency=_idempotency(form_id, data)
        ))
    if view is None:
        return render_template("portal/register.html", form=form, form_id=form_id), form.status, (
            {"Retry-After": str(form.retry_after)} if form.retry_after else {}
        )
    if view.status == "refused":
        # Not an error of the form: the directory's answer, with what to do next.
        return render_template(
            "portal/register.html", form=form, form_id=uuid.uuid4().hex, reason=view.reason,
            refusal=MESSAGES[view.reason],
        )
    return redirect(url_for("pages.registration", registration_id=view.registration_id))


@bp.get("/activer/suivi/<registration_id>")
def registration(registration_id: str) -> Any:
    try:
        key = UUID(registration_id)
        view = services().use_cases.registration.get_registration(key)
    except (ValueError, domain.RegistrationNotFoundError):
        return error_page(404, "Cette demande d'inscription est introuvable.")
    return render_template(
        "portal/registration.html", view=view, message=MESSAGES[view.reason or view.status]
    )


@bp.route("/connexion", methods=["GET", "POST"])
def sign_in() -> Any:
    if not _posted():
        if current_member() is not None:
            return redirect(url_for("pages.space"))
        return render_template("portal/sign_in.html", form=Form())
    form = Form.posted(("identifier", "password"))
    data = form.load(SignInSchema())
    opened = None
    if data is not None:
        sign_in = services().use_cases.sign_in
        opened = form.run(lambda: sign_in.sign_in(data["identifier"], data["password"]))
    if opened is None:
        if form.status == 401:
            form.errors["password"] = [SIGN_IN_REFUSED]
        return render_template("portal/sign_in.html", form=form), form.status
    keep(opened.token)
    if opened.must_change_password:
        return redirect(url_for("pages.new_password"))
    return redirect(url_for("pages.space"))


@bp.route("/codes-oublies", methods=["GET", "POST"])
def recovery() -> Any:
    if not _posted():
        return render_template("portal/recovery.html", form=Form())
    started = time.monotonic()
    form = Form.posted(RECOVERY)
    data = form.load(RecoverySchema(), days=("birth_date",))
    if data is None:
        return render_template("portal/recovery.html", form=form), form.status
    s = services()
    s.outbox.check()
    s.use_cases.recovery.recover(RecoveryRequest(**data))
    # The same floor as the API: a match and no match take the same time (portal.Recoveries).
    floor = current_app.config["RECOVERY_MIN_SECONDS"]
    time.sleep(max(0.0, floor - (time.monotonic() - started)))
    return render_template("portal/recovery_sent.html", message=RECOVERY_ANSWER["message"])


@bp.route("/verification-email", methods=["GET", "POST"])
def verify_email() -> Any:
    if not _posted():
        return render_template("portal/verify_email.html", form=Form())
    form = Form.posted(("token",))
    data = form.load(VerificationSchema())
    email = None
    if data is not None:
        email = form.run(lambda: services().use_cases.recovery.verify_email(data["token"]))
    if email is None:
        if form.status == 404:
            form.errors["token"] = [form.message or ""]
        return render_template("portal/verify_email.html", form=form), form.status
    return render_template("portal/verified.html", email=email)


@bp.route("/contact", methods=["GET", "POST"])
def contact() -> Any:
    if not _posted():
        return render_template("portal/contact.html", form=Form())
    form = Form.posted(CONTACT)
    data = form.load(SupportRequestFormSchema(), days=("birth_date",))
    if data is None:
        return render_template("portal/contact.html", form=form), form.status
    support = services().use_cases.support
    request_id = support.submit_support_request(SupportRequestForm(**data))
    return render_template(
        "portal/contact_sent.html", reference=support_reference(request_id), kind=data["kind"]
    )


def _posted() -> bool:
    return request.method == "POST"


def _form_id() -> str:
    # The form's own id, made when it was shown: a double click or a reload of the POST sends
    # it twice, and the second answers like the first (the API's Idempotency-Key).
    sent = request.form.get("form_id", "")
    return sent if len(sent) == 32 and sent.isalnum() else uuid.uuid4().hex


def _idempotency(form_id: str, data: dict[str, Any]) -> tuple[str, str]:
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    secret = services().settings.secret_key.encode()
    return f"page:{form_id}", hmac.new(secret, canonical.encode(), hashlib.sha256).hexdigest()
