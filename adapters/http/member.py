"""A member's own endpoints: sign-in and sign-out, the portal view, and their credentials."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import g
from flask.views import MethodView
from marshmallow import fields

from adapters.http import Blueprint
from adapters.http.auth import BEARER, require_member
from adapters.http.errors import ApiError
from adapters.http.schemas import (
    BaseSchema,
    Bool,
    Email,
    Str,
    length,
    no_control_characters,
    not_blank,
)
from adapters.http.services import services

blp = Blueprint("member", __name__, url_prefix="/api/v1", description="Connexion et mon compte")

# A password field accepts anything up to a bound well past the policy's 64 code points: a long
# or strange password is a wrong password (401/422), never a 500 and never a silent truncation.
PASSWORD_FIELD_MAX = 1024


def password_field() -> Str:
    return Str(required=True, validate=length(1, PASSWORD_FIELD_MAX))


class SignInSchema(BaseSchema):
    identifier = Str(required=True, validate=length(1, 64))
    password = password_field()


class SessionSchema(BaseSchema):
    token = fields.String(required=True)
    expires_at = fields.String(required=True)
    must_change_password = fields.Boolean(required=True)


class BeneficiarySchema(BaseSchema):
    first_name = fields.String()
    last_name = fields.String()
    relation = fields.String()


class AlertsSchema(BaseSchema):
    reimbursements = Bool(required=True)


class MeSchema(BaseSchema):
    identifier = fields.String()
    email = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    must_change_password = fields.Boolean()
    sections = fields.List(fields.String())
    beneficiaries = fields.List(fields.Nested(BeneficiarySchema))
    alerts = fields.Nested(AlertsSchema)
    secret_question = fields.String(allow_none=True)


class PasswordChangeSchema(BaseSchema):
    current_password = password_field()
    new_password = password_field()


class EmailChangeSchema(BaseSchema):
    new_email = Email(required=True, validate=length(3, 254))
    password = password_field()


class MessageSchema(BaseSchema):
    message = fields.String(required=True)


class SecretQuestionSchema(BaseSchema):
    question = Str(required=True, validate=[length(3, 200), no_control_characters, not_blank])
    answer = Str(required=True, validate=[length(1, 200), no_control_characters, not_blank])
    password = password_field()


@blp.route("/sessions")
class Sessions(MethodView):
    @blp.arguments(SignInSchema)
    @blp.response(201, SessionSchema)
    @blp.alt_response(401, description="invalid_credentials, whatever the reason")
    @blp.alt_response(429, description="Too many sign-ins from this address")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Sign in with the identifier and a password (own or temporary)."""
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
    @blp.doc(**BEARER)
    def delete(self) -> None:
        """Sign out: this session's token stops working at once."""
        services().use_cases.sign_in.sign_out(g.session.digest)


@blp.route("/me")
class Me(MethodView):
    @require_member(temporary_allowed=True)
    @blp.response(200, MeSchema)
    @blp.doc(**BEARER)
    def get(self) -> dict[str, Any]:
        """The portal view of the signed-in member."""
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
    @blp.arguments(PasswordChangeSchema)
    @blp.response(204)
    @blp.alt_response(422, description="validation_error (wrong current password) or weak_password")
    @blp.doc(**BEARER)
    def put(self, data: dict[str, Any]) -> None:
        """Replace the password (the temporary one at first sign-in); other sessions end."""
        services().use_cases.sign_in.change_password(
            g.session.account_id,
            data["current_password"],
            data["new_password"],
            session_digest=g.session.digest,
        )


@blp.route("/me/email")
class MyEmail(MethodView):
    @require_member()
    @blp.arguments(EmailChangeSchema)
    @blp.response(202, MessageSchema)
    @blp.doc(**BEARER)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Modifier mes infos: a single-use code goes to the new address."""
        services().use_cases.recovery.request_email_change(
            g.session.account_id, data["new_email"], data["password"]
        )
        return {
            "message": "Un code de vérification est envoyé à la nouvelle adresse ; votre adresse "
            "actuelle reste enregistrée jusqu'à sa confirmation."
        }


@blp.route("/me/secret-question")
class MySecretQuestion(MethodView):
    @require_member()
    @blp.arguments(SecretQuestionSchema)
    @blp.response(204)
    @blp.doc(**BEARER)
    def put(self, data: dict[str, Any]) -> None:
        """Set the secret question; the answer is kept only as a hash of its normalised form."""
        services().use_cases.sign_in.set_secret_question(
            g.session.account_id, data["question"], data["answer"], data["password"]
        )


@blp.route("/me/alerts")
class MyAlerts(MethodView):
    @require_member()
    @blp.arguments(AlertsSchema)
    @blp.response(200, AlertsSchema)
    @blp.doc(**BEARER)
    def put(self, data: dict[str, Any]) -> dict[str, Any]:
        """Turn reimbursement e-mail alerts on or off."""
        member_space = services().use_cases.member_space
        on = member_space.set_alerts(g.session.account_id, data["reimbursements"])
        return {"reimbursements": on}


class ClosureSchema(BaseSchema):
    password = password_field()


class ClosureRequestedSchema(BaseSchema):
    request_id = fields.String(required=True)


@blp.route("/me/closure")
class MyClosure(MethodView):
    @require_member()
    @blp.arguments(ClosureSchema)
    @blp.response(202, ClosureRequestedSchema)
    @blp.doc(**BEARER)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Ask for the account to be closed; a support agent decides."""
        closure = services().use_cases.closure
        request_id = closure.request_closure(g.session.account_id, data["password"])
        return {"request_id": str(request_id)}


class ReimbursementBeneficiarySchema(BaseSchema):
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)


class ReimbursementLineSchema(BaseSchema):
    reimbursement_id = fields.String()
    beneficiary = fields.Nested(ReimbursementBeneficiarySchema)
    label = fields.String()
    care_date = fields.String()
    paid_at = fields.String()
    amount = fields.String()


class ContractReimbursementsSchema(BaseSchema):
    contract_id = fields.String()
    reimbursements = fields.List(fields.Nested(ReimbursementLineSchema))


class MyReimbursementsSchema(BaseSchema):
    contracts = fields.List(fields.Nested(ContractReimbursementsSchema))


def twelve_months_before(instant: datetime) -> datetime:
    try:
        return instant.replace(year=instant.year - 1)
    except ValueError:  # 29 February
        return instant.replace(year=instant.year - 1, day=28)


@blp.route("/me/reimbursements")
class MyReimbursements(MethodView):
    @require_member()
    @blp.response(200, MyReimbursementsSchema)
    @blp.alt_response(403, description="section_unavailable without the health section")
    @blp.doc(**BEARER)
    def get(self) -> dict[str, Any]:
        """The last 12 months of reimbursements, newest first, grouped by contract."""
        s = services()
        view = s.use_cases.member_space.me(g.session.account_id)
        if "health" not in view.sections:
            raise ApiError("section_unavailable")
        since = twelve_months_before(s.clock()).astimezone(UTC)
        contracts: dict[str, list[dict[str, Any]]] = {}
        for row in s.portal.reimbursements(view.member_key, since):
            contracts.setdefault(row["contract_id"], []).append({
                "reimbursement_id": row["reimbursement_id"],
                "beneficiary": {"first_name": row["first_name"], "last_name": row["last_name"]},
                "label": row["label"],
                "care_date": row["care_date"],
                "paid_at": row["paid_at"],
                "amount": row["amount"],
            })
        # Contracts in the order of their newest reimbursement (dicts keep insertion order).
        return {
            "contracts": [
                {"contract_id": contract, "reimbursements": lines}
                for contract, lines in contracts.items()
            ]
        }
