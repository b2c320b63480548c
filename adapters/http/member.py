"""A member's own endpoints: sign-in and sign-out, the portal view, and their credentials."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import g
from flask.views import MethodView

from adapters.http import Blueprint, examples
from adapters.http.auth import BEARER, require_member
from adapters.http.errors import ApiError
from adapters.http.member_schemas import (
    PASSWORD_FIELD_MAX,
    AlertsSchema,
    BeneficiarySchema,
    ClosureRequestedSchema,
    ClosureSchema,
    ContractReimbursementsSchema,
    EmailChangeSchema,
    MeSchema,
    MessageSchema,
    MyReimbursementsSchema,
    PasswordChangeSchema,
    ReimbursementBeneficiarySchema,
    ReimbursementLineSchema,
    SecretQuestionSchema,
    SessionSchema,
    SignInSchema,
    password_field,
)
from adapters.http.openapi import (
    BEARER_ERRORS,
    JSON_BODY,
    MEMBER_SESSION,
    documented_errors,
)
from adapters.http.services import services

__all__ = [  # the schemas live in member_schemas.py; the pages import them from here too
    "PASSWORD_FIELD_MAX", "AlertsSchema", "BeneficiarySchema", "ClosureRequestedSchema",
    "ClosureSchema", "ContractReimbursementsSchema", "EmailChangeSchema", "MeSchema",
    "MessageSchema", "MyReimbursementsSchema", "PasswordChangeSchema",
    "ReimbursementBeneficiarySchema", "ReimbursementLineSchema", "SecretQuestionSchema",
    "SessionSchema", "SignInSchema", "blp", "password_field", "twelve_months_before",
]

blp = Blueprint("member", __name__, url_prefix="/api/v1", description="Connexion et mon compte")

EMAIL_CHANGE_ANSWER = {
    "message": "Un code de vérification est envoyé à la nouvelle adresse ; votre adresse "
    "actuelle reste enregistrée jusqu'à sa confirmation."
}
INCORRECT = "Mot de passe incorrect."
# A wrong password confirming a change is a 422 on that field, counted toward the lockout.
WRONG_CONFIRMATION = (
    "Un champ est invalide, ou le mot de passe de confirmation est faux (compté pour le "
    "blocage du compte ; la session reste valable)."
)


@blp.route("/sessions")
class Sessions(MethodView):
    @blp.arguments(SignInSchema, example=examples.SIGN_IN)
    @blp.response(201, SessionSchema, example=examples.SESSION)
    @documented_errors(
        blp, *JSON_BODY, "invalid_credentials", "conflict", "rate_limited",
        invalid=("identifier", "Champ obligatoire."),
    )
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Se connecter

        Avec l'identifiant (8 chiffres) et le mot de passe du membre ou le mot de passe
        temporaire reçu par e-mail. Toute erreur répond 401 `invalid_credentials` ; 5 erreurs de
        suite bloquent le compte 15 minutes. Une session ouverte avec un mot de passe temporaire
        (`must_change_password`) ne sert qu'à le remplacer.
        """
        s = services()
        opened = s.use_cases.sign_in.sign_in(data["identifier"], data["password"])
        return {
            "token": opened.token,
            "expires_at": opened.expires_at.isoformat(),
            "must_change_password": opened.must_change_password,
        }


@blp.route("/sessions/current")
class CurrentSession(MethodView):
    @require_member(temporary_allowed=True)
    @blp.response(204)
    @documented_errors(blp, *BEARER_ERRORS)
    @blp.doc(**BEARER)
    def delete(self) -> None:
        """Se déconnecter

        Le jeton de cette session cesse aussitôt de fonctionner.
        """
        services().use_cases.sign_in.sign_out(g.session.digest)


@blp.route("/me")
class Me(MethodView):
    @require_member(temporary_allowed=True)
    @blp.response(200, MeSchema, example=examples.ME)
    @documented_errors(blp, *BEARER_ERRORS)
    @blp.doc(**BEARER)
    def get(self) -> dict[str, Any]:
        """Mon espace

        Le membre connecté : identité, rubriques auxquelles il a droit, bénéficiaires de ses
        contrats santé, alertes et question secrète.
        """
        view = services().use_cases.member_space.me(g.session.account_id)
        return {
            "identifier": view.identifier,
            "email": view.email,
            "first_name": view.first_name,
            "last_name": view.last_name,
            "must_change_password": g.session.temporary,
            "sections": view.sections,
            "beneficiaries": view.beneficiaries,
            "alerts": {"reimbursements": view.alerts_reimbursements},
            "secret_question": view.secret_question,
        }


@blp.route("/me/password")
class MyPassword(MethodView):
    @require_member(temporary_allowed=True)
    @blp.arguments(PasswordChangeSchema, example=examples.PASSWORD_CHANGE)
    @blp.response(204)
    @documented_errors(
        blp, *BEARER_ERRORS, *JSON_BODY, "weak_password", "conflict",
        invalid=("current_password", INCORRECT), validation_error=WRONG_CONFIRMATION,
    )
    @blp.doc(**BEARER)
    def put(self, data: dict[str, Any]) -> None:
        """Changer mon mot de passe

        Remplace le mot de passe (le temporaire à la première connexion) : 12 à 64 caractères,
        ni courant ni personnel. Les autres sessions sont fermées et un avis part par e-mail.
        """
        services().use_cases.sign_in.change_password(
            g.session.account_id,
            data["current_password"],
            data["new_password"],
            session_digest=g.session.digest,
        )


@blp.route("/me/email")
class MyEmail(MethodView):
    @require_member()
    @blp.arguments(EmailChangeSchema, example=examples.EMAIL_CHANGE)
    @blp.response(202, MessageSchema, example=EMAIL_CHANGE_ANSWER)
    @documented_errors(
        blp, *MEMBER_SESSION, *JSON_BODY, "conflict",
        invalid=("password", INCORRECT), validation_error=WRONG_CONFIRMATION,
    )
    @blp.doc(**BEARER)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Modifier mon adresse e-mail

        Un code de vérification à usage unique, valable 24 heures, part vers la nouvelle
        adresse ; le changement se fait quand il revient (POST /api/v1/email-verifications).
        """
        services().use_cases.recovery.request_email_change(
            g.session.account_id, data["new_email"], data["password"]
        )
        return EMAIL_CHANGE_ANSWER


@blp.route("/me/secret-question")
class MySecretQuestion(MethodView):
    @require_member()
    @blp.arguments(SecretQuestionSchema, example=examples.SECRET_QUESTION)
    @blp.response(204)
    @documented_errors(
        blp, *MEMBER_SESSION, *JSON_BODY, "conflict",
        invalid=("password", INCORRECT), validation_error=WRONG_CONFIRMATION,
    )
    @blp.doc(**BEARER)
    def put(self, data: dict[str, Any]) -> None:
        """Choisir ma question secrète

        La réponse n'est gardée que sous forme d'empreinte de sa forme normalisée (casse,
        accents, espaces, tirets et apostrophes ignorés).
        """
        services().use_cases.sign_in.set_secret_question(
            g.session.account_id, data["question"], data["answer"], data["password"]
        )


@blp.route("/me/alerts")
class MyAlerts(MethodView):
    @require_member()
    @blp.arguments(AlertsSchema, example={"reimbursements": True})
    @blp.response(200, AlertsSchema, example={"reimbursements": True})
    @documented_errors(
        blp, *MEMBER_SESSION, *JSON_BODY, "conflict",
        invalid=("reimbursements", "true ou false attendu."),
    )
    @blp.doc(**BEARER)
    def put(self, data: dict[str, Any]) -> dict[str, Any]:
        """Régler mes alertes

        Active ou coupe l'e-mail envoyé à chaque nouveau remboursement.
        """
        member_space = services().use_cases.member_space
        on = member_space.set_alerts(g.session.account_id, data["reimbursements"])
        return {"reimbursements": on}


@blp.route("/me/closure")
class MyClosure(MethodView):
    @require_member()
    @blp.arguments(ClosureSchema, example={"password": examples.PASSWORD})
    @blp.response(202, ClosureRequestedSchema, example={"request_id": examples.REQUEST_ID})
    @documented_errors(
        blp, *MEMBER_SESSION, *JSON_BODY, "conflict",
        invalid=("password", INCORRECT), validation_error=WRONG_CONFIRMATION,
    )
    @blp.doc(**BEARER)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Fermer mon compte

        Demande la clôture du compte ; un élément `closure` entre dans la file du support,
        qui décide.
        """
        closure = services().use_cases.closure
        request_id = closure.request_closure(g.session.account_id, data["password"])
        return {"request_id": str(request_id)}


def twelve_months_before(instant: datetime) -> datetime:
    try:
        return instant.replace(year=instant.year - 1)
    except ValueError:  # 29 February
        return instant.replace(year=instant.year - 1, day=28)


@blp.route("/me/reimbursements")
class MyReimbursements(MethodView):
    @require_member()
    @blp.response(200, MyReimbursementsSchema, example=examples.MY_REIMBURSEMENTS)
    @documented_errors(
        blp, *MEMBER_SESSION, "section_unavailable",
        section_unavailable="Le membre n'est pas adhérent principal d'un contrat santé "
        "(rubrique `health`).",
    )
    @blp.doc(**BEARER)
    def get(self) -> dict[str, Any]:
        """Mes remboursements

        Les remboursements santé des 12 derniers mois, par contrat, du plus récent au plus
        ancien (rubrique `health`).
        """
        s = services()
        view = s.use_cases.member_space.me(g.session.account_id)
        if "health" not in view.sections:
            raise ApiError("section_unavailable")
        return {
            "contracts": [
                {"contract_id": contract, "reimbursements": [{
                    "reimbursement_id": row["reimbursement_id"],
                    "beneficiary": {"first_name": row["first_name"], "last_name": row["last_name"]},
                    "label": row["label"],
                    "care_date": row["care_date"],
                    "paid_at": row["paid_at"],
                    "amount": row["amount"],
                } for row in rows]}
                for contract, rows in recent_by_contract(view.member_key).items()
            ]
        }


def recent_by_contract(member_key: Any) -> dict[str, list[dict[str, Any]]]:
    """The member's reimbursements of the last 12 months, newest first, by contract; contracts
    in the order of their newest reimbursement (the API's and the portal page's view)."""
    s = services()
    since = twelve_months_before(s.clock()).astimezone(UTC)
    contracts: dict[str, list[dict[str, Any]]] = {}
    for row in s.portal.reimbursements(member_key, since):
        contracts.setdefault(row["contract_id"], []).append(row)
    return contracts
