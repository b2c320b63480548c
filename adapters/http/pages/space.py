"""The member's own pages: "Mon espace", the reimbursements, "Modifier mes infos", the forced
change of a temporary password, closure and sign-out. Each needs a live member session
(member_cookie.member_page) and calls the use case the JSON endpoint calls."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for

from adapters.http.member import (
    ClosureSchema,
    EmailChangeSchema,
    PasswordChangeSchema,
    SecretQuestionSchema,
    recent_by_contract,
)
from adapters.http.pages.blueprint import bp, error_page
from adapters.http.pages.forms import Form
from adapters.http.pages.member_cookie import forget, member_page
from adapters.http.services import services
from domain.support_request import support_reference

SECTION_UNAVAILABLE = (
    "La rubrique « Votre complémentaire santé » est réservée à l'adhérent principal d'un "
    "contrat santé : les remboursements de ses bénéficiaires figurent dans son dossier."
)


def _me(*, beneficiaries: bool = False, directory: bool = True) -> Any:
    # Only "Mon espace" lists the beneficiaries; "Modifier mes infos" shows nothing of the
    # directory's.
    return services().use_cases.member_space.me(
        g.member.account_id, beneficiaries=beneficiaries, directory=directory
    )


@bp.get("/mon-espace")
@member_page()
def space() -> Any:
    return render_template("portal/space.html", me=_me(beneficiaries=True))


@bp.get("/mon-espace/remboursements")
@member_page()
def reimbursements() -> Any:
    me = _me()
    if "health" not in me.sections:
        return error_page(403, SECTION_UNAVAILABLE, title="Rubrique non disponible")
    contracts = recent_by_contract(me.member_key)
    return render_template("portal/reimbursements.html", me=me, contracts=contracts)


@bp.route("/mon-espace/nouveau-mot-de-passe", methods=["GET", "POST"])
@member_page(temporary_allowed=True)
def new_password() -> Any:
    if not g.member.temporary:
        return redirect(url_for("pages.infos"))
    if request.method != "POST":
        return render_template("portal/new_password.html", form=Form())
    form = Form.posted(("current_password", "new_password"))
    if not _password_changed(form):
        return render_template("portal/new_password.html", form=form), form.status
    flash("Votre mot de passe est enregistré. Bienvenue dans votre Espace Client.", "success")
    return redirect(url_for("pages.space"))


def _password_changed(form: Form) -> bool:
    data = form.load(PasswordChangeSchema())
    if data is None:
        return False
    sign_in = services().use_cases.sign_in
    form.run(lambda: sign_in.change_password(
        g.member.account_id, data["current_password"], data["new_password"],
        session_digest=g.member.digest,
    ))
    return not form.refused


@bp.get("/mon-espace/infos")
@member_page()
def infos() -> Any:
    return _infos_page()


def _infos_page(part: str | None = None, form: Form | None = None) -> Any:
    forms = {name: Form() for name in ("email", "password", "question", "alerts")}
    if part is not None and form is not None:
        forms[part] = form
    status = form.status if form is not None else 200
    page = render_template("portal/infos.html", me=_me(directory=False), forms=forms, part=part)
    return page, status


@bp.post("/mon-espace/infos/email")
@member_page()
def change_email() -> Any:
    form = Form.posted(("new_email", "password"))
    data = form.load(EmailChangeSchema())
    if data is not None:
        s = services()
        s.outbox.check()
        form.run(lambda: s.use_cases.recovery.request_email_change(
            g.member.account_id, data["new_email"], data["password"]
        ))
    if form.refused:
        return _infos_page("email", form)
    flash("Un code de vérification est envoyé à la nouvelle adresse. Saisissez-le sur la page "
          "« Confirmer mon adresse e-mail » : votre adresse actuelle reste enregistrée "
          "jusque-là.", "success")
    return redirect(url_for("pages.infos"))


@bp.post("/mon-espace/infos/mot-de-passe")
@member_page()
def change_password() -> Any:
    form = Form.posted(("current_password", "new_password"))
    if not _password_changed(form):
        return _infos_page("password", form)
    flash("Votre mot de passe est modifié. Vos autres connexions ont été fermées.", "success")
    return redirect(url_for("pages.infos"))


@bp.post("/mon-espace/infos/question")
@member_page()
def change_question() -> Any:
    form = Form.posted(("question", "answer", "password"))
    data = form.load(SecretQuestionSchema())
    if data is not None:
        sign_in = services().use_cases.sign_in
        form.run(lambda: sign_in.set_secret_question(
            g.member.account_id, data["question"], data["answer"], data["password"]
        ))
    if form.refused:
        return _infos_page("question", form)
    flash("Votre question secrète est enregistrée.", "success")
    return redirect(url_for("pages.infos"))


@bp.post("/mon-espace/infos/alertes")
@member_page()
def change_alerts() -> Any:
    wanted = request.form.get("reimbursements") == "on"
    member_space = services().use_cases.member_space
    on = member_space.set_alerts(g.member.account_id, wanted)
    flash("Les alertes e-mail de remboursement sont activées." if on else
          "Les alertes e-mail de remboursement sont désactivées.", "success")
    return redirect((request.form.get("back") == "remboursements"
                    and url_for("pages.reimbursements")) or url_for("pages.infos"))


@bp.route("/mon-espace/fermeture", methods=["GET", "POST"])
@member_page()
def closure() -> Any:
    if request.method != "POST":
        return render_template("portal/closure.html", form=Form())
    form = Form.posted(("password",))
    data = form.load(ClosureSchema())
    request_id = None
    if data is not None:
        closing = services().use_cases.closure
        request_id = form.run(lambda: closing.request_closure(
            g.member.account_id, data["password"]
        ))
    if request_id is None:
        return render_template("portal/closure.html", form=form), form.status
    return render_template("portal/closure_sent.html", reference=support_reference(request_id))


@bp.post("/deconnexion")
def sign_out() -> Any:
    forget()
    flash("Vous êtes déconnecté(e). À bientôt sur votre Espace Client.", "info")
    return redirect(url_for("pages.sign_in"))
