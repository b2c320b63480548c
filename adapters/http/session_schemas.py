"""The member's sessions and data export (member_sessions.py, and the security page): answer
bodies, with the OpenAPI document's examples. No field ever holds a token, a digest or a hash."""

from __future__ import annotations

from marshmallow import fields

from adapters.http import examples
from adapters.http.member_schemas import SECTIONS, AlertsSchema, ReimbursementBeneficiarySchema
from adapters.http.schemas import BaseSchema, listed

STATUSES = ("open", "locked", "closed")

SESSION_ID = "k3Vq9XcM1rT7yLbN4pQz2w"
SESSIONS = {"sessions": [
    {"session_id": SESSION_ID, "created_at": "2026-11-26T09:58:00+00:00",
     "last_seen_at": "2026-11-26T10:00:00+00:00", "device": "Chrome 131 sur Windows",
     "current": True},
    {"session_id": "Hx2bW8nR5sLk0aYp7dEj3g", "created_at": "2026-11-25T18:12:00+00:00",
     "last_seen_at": "2026-11-25T18:40:00+00:00", "device": "Safari sur iPhone",
     "current": False},
]}
EXPORT = {
    "exported_at": "2026-11-26T10:00:00+00:00",
    "account": {
        "identifier": examples.IDENTIFIER, "status": "open", "email": examples.EMAIL,
        "member_number": "M1000001", "first_name": "Hélène", "last_name": "Dupré-Lefèvre",
        "sections": ["health", "points_statement"], "created_at": "2026-11-20T08:00:00+00:00",
        "last_sign_in_at": "2026-11-26T09:58:00+00:00", "must_change_password": False,
        "secret_question": "Le nom de mon premier chat ?",
    },
    "history": [{
        "event": "Connexion réussie", "occurred_at": "2026-11-26T09:58:00+00:00",
        "actor": "Membre 48213067",
        "details": [{"field": "Mot de passe utilisé", "value": "personnel"}],
    }],
    "sessions": SESSIONS["sessions"],
    "passkeys": [],
    "reimbursements": [{
        "reimbursement_id": "R-2026-000123", "contract_id": "SANTE-IND-001",
        "beneficiary": {"first_name": "Zoé", "last_name": "Dupré-Lefèvre"},
        "label": "Consultation de pédiatrie", "care_date": "2026-10-01",
        "paid_at": "2026-10-05T08:00:00+00:00", "amount": "25.00",
    }],
    "preferences": {"alerts": {"reimbursements": True}},
}


class MemberSessionSchema(BaseSchema):
    session_id = fields.String(required=True)
    created_at = fields.String(required=True)
    last_seen_at = fields.String(required=True)
    device = fields.String(
        required=True, metadata={"description": "Navigateur et système, tirés du User-Agent."}
    )
    current = fields.Boolean(
        required=True, metadata={"description": "La session du jeton de cette requête."}
    )


class MemberSessionsSchema(BaseSchema):
    sessions = fields.List(fields.Nested(MemberSessionSchema), required=True)


class ExportedAccountSchema(BaseSchema):
    identifier = fields.String()
    status = listed(STATUSES)
    email = fields.String()
    member_number = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    sections = fields.List(listed(SECTIONS))
    created_at = fields.String()
    last_sign_in_at = fields.String(allow_none=True)
    must_change_password = fields.Boolean()
    secret_question = fields.String(
        allow_none=True, metadata={"description": "La question seule, jamais la réponse."}
    )


class DetailSchema(BaseSchema):
    field = fields.String()
    value = fields.String()


class ExportedEventSchema(BaseSchema):
    event = fields.String(metadata={"description": "L'événement, en français."})
    occurred_at = fields.String()
    actor = fields.String(metadata={"description": "Qui l'a causé, en français."})
    details = fields.List(fields.Nested(DetailSchema))


class ExportedPasskeySchema(BaseSchema):
    name = fields.String()
    added_at = fields.String()
    last_used_at = fields.String(allow_none=True)


class ExportedReimbursementSchema(BaseSchema):
    reimbursement_id = fields.String()
    contract_id = fields.String()
    beneficiary = fields.Nested(ReimbursementBeneficiarySchema)
    label = fields.String()
    care_date = fields.String()
    paid_at = fields.String()
    amount = fields.String()


class PreferencesSchema(BaseSchema):
    alerts = fields.Nested(AlertsSchema)


class ExportSchema(BaseSchema):
    exported_at = fields.String(required=True)
    account = fields.Nested(ExportedAccountSchema, required=True)
    history = fields.List(fields.Nested(ExportedEventSchema), required=True)
    sessions = fields.List(fields.Nested(MemberSessionSchema), required=True)
    passkeys = fields.List(fields.Nested(ExportedPasskeySchema), required=True)
    reimbursements = fields.List(fields.Nested(ExportedReimbursementSchema), required=True)
    preferences = fields.Nested(PreferencesSchema, required=True)
