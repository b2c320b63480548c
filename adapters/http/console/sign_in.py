"""Signing in to the console with a staff token (support or auditor), and out."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from adapters.http.console.blueprint import bp
from adapters.http.console.session import (
    console_staff,
    end_session,
    home,
    session_staff,
    start_session,
)
from adapters.http.pages.forms import Form

SIGN_IN_REFUSED = "Ce jeton est inconnu ou ne donne pas accès à la console du support."


@bp.route("/", methods=["GET", "POST"])
def sign_in() -> Any:
    if request.method != "POST":
        staff = session_staff()
        if staff is not None:
            return redirect(home(staff))
        return render_template("console/sign_in.html", form=Form())
    token = request.form.get("token", "").strip()
    staff = console_staff(token)
    if staff is None:
        # Form never shows a token back (pages/forms.py, SECRET_FIELDS).
        form = Form(values={"token": token}).refuse(
            "authentication_required", {"token": [SIGN_IN_REFUSED]}, "Connexion impossible."
        )
        return render_template("console/sign_in.html", form=form), 401
    start_session(token)
    return redirect(home(staff))


@bp.post("/signout")
def sign_out() -> Any:
    end_session()
    flash("Vous êtes déconnecté(e).", "info")
    return redirect(url_for("console.sign_in"))
