"""« Clés d'accès » on the Sécurité page: add, remove or require a passkey, new recovery codes,
and the confirmation of identity these ask for once the last proof is more than 5 minutes old
(the password, a passkey or a recovery code, which is then spent).
The same use cases as adapters/http/passkeys.py; the browser's part is static/passkeys.js.

Recovery codes are shown in the answer to the POST that made them, never in a URL, a flash
message or the cookie: a reload of the Sécurité page no longer shows them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from flask import flash, g, jsonify, redirect, render_template, request, url_for

from adapters.http.errors import MESSAGES
from adapters.http.pages.blueprint import bp
from adapters.http.pages.forms import Form
from adapters.http.pages.member_cookie import member_page
from adapters.http.pages.security import security_page
from adapters.http.passkey_schemas import NewPasskeySchema, RecoveryCodeSignInSchema
from adapters.http.services import services
from domain import errors as domain

log = logging.getLogger(__name__)

ADDED = "La clé d'accès « {} » est ajoutée."
REMOVED = "La clé d'accès « {} » est supprimée."
ALREADY_REMOVED = "Cette clé d'accès était déjà supprimée."
REQUIRED = ("Une clé d'accès est désormais exigée pour vous connecter : le mot de passe seul "
            "ne suffit plus. Gardez vos codes de secours à portée de main.")
NOT_REQUIRED = "Votre mot de passe suffit de nouveau pour vous connecter."
CONFIRMED = "Votre identité est confirmée : vous pouvez modifier vos clés d'accès."
CONFIRM_FIRST = ("Pour modifier vos clés d'accès, confirmez d'abord votre identité avec votre "
                 "mot de passe, une clé d'accès ou un code de secours.")
NOT_ADDED = "La clé d'accès n'a pas pu être ajoutée. Réessayez."
NOT_RECOGNISED = "La clé d'accès n'a pas été reconnue."
PASSKEY_ID_MAX = 256  # a credential id, base64url: authenticators make them far shorter
CREDENTIAL_MAX = 32 * 1024  # a browser's answer is a few KiB; the request cap is 64 KiB


def posted_credential() -> dict[str, Any] | None:
    """The browser's answer (PublicKeyCredential.toJSON()) that passkeys.js put in the form."""
    text = request.form.get("credential", "")
    if not text or len(text) > CREDENTIAL_MAX:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def attempt(form: Form, command: Callable[[], Any]) -> Any:
    """The use case's result, or None with its refusal in `form`. A proof of identity older
    than 5 minutes (403) leads back to the page, where the confirmation now stands in place
    of the forms: the notice says why."""

    def refused_passkey_too() -> Any:
        # Form.run words every other domain error; a refused ceremony is the form's own.
        try:
            return command()
        except domain.PasskeyRefusedError as error:
            log.info("passkey refused", extra={"reason": str(error)})
            form.refuse("validation_error", message=NOT_ADDED)
            return None

    result = form.run(refused_passkey_too)
    if confirm_first(form):
        flash(CONFIRM_FIRST, "info")
    return result


def confirm_first(form: Form) -> bool:
    return form.refused and form.message == MESSAGES["reauthentication_required"]


def back() -> Any:
    return redirect(url_for("pages.security"))


@bp.post("/mon-espace/securite/cle")
@member_page()
def add_passkey() -> Any:
    form = Form.posted(("name",))
    data = form.load(NewPasskeySchema(only=("name",)))
    credential = posted_credential()
    if data is not None and credential is None:
        form.refuse("validation_error", message=NOT_ADDED)
    if form.refused:
        return security_page(form.status, add=form)
    m = g.member
    added = attempt(form, lambda: services().use_cases.passkeys.add(
        m.account_id, data["name"], credential, m.authenticated_at))
    if confirm_first(form):
        return back()
    if added is None:
        return security_page(form.status, add=form)
    if added.recovery_codes:
        return codes_page(added.recovery_codes, first=True, name=added.passkey.name)
    flash(ADDED.format(added.passkey.name), "success")
    return back()


@bp.post("/mon-espace/securite/cle/suppression")
@member_page()
def remove_passkey() -> Any:
    m, passkeys = g.member, services().use_cases.passkeys
    passkey_id = request.form.get("passkey_id", "")[:PASSKEY_ID_MAX]
    names = {p.passkey_id: p.name for p in passkeys.listed(m.account_id).passkeys}
    if passkey_id not in names:
        flash(ALREADY_REMOVED, "info")
        return back()
    form = Form()
    attempt(form, lambda: passkeys.remove(m.account_id, passkey_id, m.authenticated_at))
    if form.status == 404:  # removed meanwhile, from another device
        flash(ALREADY_REMOVED, "info")
    elif not form.refused:
        flash(REMOVED.format(names[passkey_id]), "success")
    return back()


@bp.post("/mon-espace/securite/cle/exigence")
@member_page()
def require_passkey() -> Any:
    m, wanted = g.member, request.form.get("required") == "on"
    form = Form()
    required = attempt(form, lambda: services().use_cases.passkeys.require(
        m.account_id, wanted, m.authenticated_at))
    if form.refused and not confirm_first(form):
        flash(form.errors.get("required", [form.message])[0], "error")
    elif not form.refused:
        flash(REQUIRED if required else NOT_REQUIRED, "success")
    return back()


@bp.post("/mon-espace/securite/codes-de-secours")
@member_page()
def new_recovery_codes() -> Any:
    m, form = g.member, Form()
    codes = attempt(form, lambda: services().use_cases.passkeys.regenerate_recovery_codes(
        m.account_id, m.authenticated_at))
    if codes is None:
        if not confirm_first(form):
            flash(next(iter(form.errors.values()), [form.message])[0], "error")
        return back()
    return codes_page(codes, first=False)


def codes_page(codes: list[str], *, first: bool, name: str = "") -> Any:
    return render_template("portal/recovery_codes.html", codes=codes, first=first, name=name)


# Re-authentication: a password, a passkey or a recovery code, then back to the page for 5
# minutes. Each has its own form on the page; which one was posted says which proof it is.

@bp.post("/mon-espace/securite/confirmation")
@member_page()
def reauthenticate() -> Any:
    s, m = services(), g.member
    credential = posted_credential()
    with_code = "recovery_code" in request.form
    form = Form.posted(("recovery_code",) if with_code else ("password",))
    if with_code:
        data = form.load(RecoveryCodeSignInSchema(only=("recovery_code",)))
        if data is not None:  # a wrong code counts toward the lockout, as on the API
            form.run(lambda: s.use_cases.passkeys.reauthenticate_with_code(
                m.account_id, data["recovery_code"]))
        if form.refused:
            return security_page(form.status, confirm=form)
    elif "credential" in request.form:
        try:
            if credential is None:
                raise domain.PasskeyRefusedError("no credential posted")
            s.use_cases.passkeys.reauthenticate(m.account_id, credential)
        except domain.PasskeyRefusedError as error:
            log.info("passkey refused", extra={"reason": str(error)})
            form.refuse("validation_error", message=NOT_RECOGNISED)
            return security_page(form.status, confirm=form)
    else:
        if not form.values["password"]:
            form.refuse("validation_error", {"password": ["Champ obligatoire."]})
        else:
            form.run(lambda: s.use_cases.sign_in.confirm_password(
                m.account_id, form.values["password"], "password"))
        if form.refused:
            return security_page(form.status, confirm=form)
    s.sessions.reauthenticated(m.digest, s.clock())
    flash(CONFIRMED, "success")
    return back()


@bp.post("/mon-espace/securite/confirmation/options")
@member_page()
def reauthentication_options() -> Any:
    # Fetched by the script when the member clicks: a page view hands out no challenge.
    return jsonify(json.loads(services().use_cases.passkeys.reauthentication_options(
        g.member.account_id)))
