"""Signing in without a password from /connexion: with a passkey alone (the authenticator
names the account, nothing is typed), or with the identifier and one recovery code, spent.
The same use cases and limits as POST /api/v1/sessions/passkey and /sessions/recovery-code."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import jsonify, redirect, render_template, request, url_for

from adapters.http.pages.blueprint import bp
from adapters.http.pages.forms import Form
from adapters.http.pages.member_cookie import current_member, keep
from adapters.http.pages.passkey_pages import posted_credential
from adapters.http.passkey_schemas import RecoveryCodeSignInSchema
from adapters.http.services import services

log = logging.getLogger(__name__)

NOT_RECOGNISED = "La clé d'accès n'a pas été reconnue."
CODE_REFUSED = (
    "Vérifiez votre identifiant (8 chiffres) et le code de secours (16 caractères, avec ou "
    "sans tirets). Chaque code ne sert qu'une fois. Après 5 essais infructueux, le compte est "
    "bloqué 15 minutes."
)


@bp.post("/connexion/cle-d-acces/options")
def passkey_sign_in_options() -> Any:
    # Fetched by the script when the visitor clicks (a POST, under the sign-in limits): showing
    # /connexion hands out no challenge, so reloading it fills no table.
    return jsonify(json.loads(services().use_cases.passkeys.sign_in_options()))


@bp.post("/connexion/cle-d-acces")
def passkey_sign_in() -> Any:
    credential = posted_credential()
    opened = None
    if credential is not None:
        form = Form()
        opened = form.run(lambda: services().use_cases.passkeys.sign_in(credential))
    if opened is None:
        log.info("passkey sign-in refused")
        refused = Form().refuse("invalid_credentials", message=NOT_RECOGNISED)
        return render_template("portal/sign_in.html", form=refused), refused.status
    keep(opened.token)
    return redirect(url_for("pages.space"))


@bp.route("/connexion/code-de-secours", methods=["GET", "POST"])
def recovery_code_sign_in() -> Any:
    if request.method != "POST":
        if current_member() is not None:
            return redirect(url_for("pages.space"))
        return render_template("portal/recovery_code.html", form=Form())
    form = Form.posted(("identifier", "recovery_code"))
    data = form.load(RecoveryCodeSignInSchema())
    opened = None
    if data is not None:
        passkeys = services().use_cases.passkeys
        opened = form.run(lambda: passkeys.sign_in_with_code(
            data["identifier"], data["recovery_code"]))
    if opened is None:
        if form.status == 401:
            form.errors["recovery_code"] = [CODE_REFUSED]
        return render_template("portal/recovery_code.html", form=form), form.status
    keep(opened.token)
    return redirect(url_for("pages.space"))
