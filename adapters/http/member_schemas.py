"""A member's request and answer bodies (member.py, and the member pages)."""

from __future__ import annotations

from marshmallow import fields

from adapters.http.schemas import (
    BaseSchema,
    Bool,
    Email,
    Str,
    length,
    listed,
    no_control_characters,
    not_blank,
)

# The portal sections a member may have (domain/directory.py), and who a beneficiary is.
SECTIONS = ("health", "retirement", "fiscal_certificate", "points_statement")
RELATIONS = ("spouse", "child", "other")

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
    relation = listed(RELATIONS)


class AlertsSchema(BaseSchema):
    reimbursements = Bool(required=True)


class MeSchema(BaseSchema):
    identifier = fields.String()
    email = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    must_change_password = fields.Boolean()
    sections = fields.List(listed(SECTIONS))
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


class ClosureSchema(BaseSchema):
    password = password_field()


class ClosureRequestedSchema(BaseSchema):
    request_id = fields.String(required=True)


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
