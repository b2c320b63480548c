"""Signing in to the console with a staff token, and out."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from adapters.http.console.blueprint import bp
from adapters.http.console.session import end_session, session_staff, start_session, support_staff
from adapters.http.pages.forms import Form

SIGN_IN_REFUSED = "Ce jeton est inconnu ou ne donne pas accès à la console du support."


@bp.route("/", methods=["GET", "POST"])
def sign_in() -> Any:
    if request.method != "POST":
        if session_staff() is not None:
            return redirect(url_for("console.queue"))
        return render_template("console/sign_in.html", form=Form())
    token = request.form.get("token", "").strip()
    if support_staff(token) is None:
        # Form never shows a token back (pages/forms.py, SECRET_FIELDS).
        form = Form(values={"token": token}).refuse(
            "authentication_required", {"token": [SIGN_IN_REFUSED]}, "Connexion impossible."
        )
        return render_template("console/sign_in.html", form=form), 401
    start_session(token)
    return redirect(url_for("console.queue"))


@bp.post("/signout")
def sign_out() -> Any:
    end_session()
    flash("Vous êtes déconnecté(e).", "info")
    return redirect(url_for("console.sign_in"))
