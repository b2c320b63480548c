"""The portal front-end's request and answer bodies (portal.py, and the member pages)."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, pre_load, validate, validates_schema

from adapters.http.schemas import (
    IDENTIFIER,
    MEMBER_NUMBER,
    BaseSchema,
    Day,
    Email,
    Str,
    length,
    listed,
    name_field,
    no_control_characters,
    not_blank,
    past_date,
)

# The first answer to a registration; where it stands afterwards may also be a decision.
ANSWERED = ("accepted", "identity_review", "refused")
REGISTRATION_STATUSES = ("accepted", "identity_review", "approved", "rejected", "refused")
REFUSAL_REASONS = ("unknown_member", "not_eligible", "not_principal_member", "already_registered")


class RegistrationSchema(BaseSchema):
    member_number = Str(required=True, validate=MEMBER_NUMBER)
    last_name = name_field()
    first_name = name_field()
    birth_date = Day(required=True, validate=past_date)
    email = Email(required=True, validate=length(3, 254))
    secret_question = Str(validate=[length(3, 200), no_control_characters, not_blank])
    secret_answer = Str(validate=[length(1, 200), no_control_characters, not_blank])

    @pre_load
    def tidy(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        # People type member numbers with spaces and in lower case; the directory does not.
        number = data.get("member_number")
        if isinstance(number, str):
            data = {**data, "member_number": number.replace(" ", "").upper()}
        email = data.get("email")
        if isinstance(email, str):
            data = {**data, "email": email.strip()}
        return data

    @validates_schema
    def question_and_answer_together(self, data: dict[str, Any], **_: Any) -> None:
        if ("secret_question" in data) != ("secret_answer" in data):
            missing = "secret_answer" if "secret_question" in data else "secret_question"
            raise ValidationError(
                "La question secrète et sa réponse vont ensemble.", field_name=missing
            )


class RecoverySchema(BaseSchema):
    member_number = Str(required=True, validate=MEMBER_NUMBER)
    last_name = name_field()
    first_name = name_field()
    birth_date = Day(required=True, validate=past_date)
    new_email = Email(validate=length(3, 254))
    secret_answer = Str(validate=[length(1, 200), no_control_characters, not_blank])

    tidy = RegistrationSchema.tidy

    @validates_schema
    def email_and_answer_together(self, data: dict[str, Any], **_: Any) -> None:
        if ("new_email" in data) != ("secret_answer" in data):
            missing = "secret_answer" if "new_email" in data else "new_email"
            raise ValidationError(
                "La nouvelle adresse et la réponse à la question secrète vont ensemble.",
                field_name=missing,
            )


class RecoveryAcceptedSchema(BaseSchema):
    message = fields.String(required=True)


class VerificationSchema(BaseSchema):
    token = Str(required=True, validate=[length(1, 64), not_blank])


class VerifiedSchema(BaseSchema):
    email = fields.String(required=True)


class SupportRequestFormSchema(BaseSchema):
    kind = Str(
        required=True,
        validate=validate.OneOf(
            ("email_update", "closure", "other"),
            error="Valeur attendue : email_update, closure ou other.",
        ),
    )
    last_name = name_field()
    first_name = name_field()
    message = Str(required=True, validate=[length(1, 2000), no_control_characters, not_blank])
    member_number = Str(validate=MEMBER_NUMBER)
    birth_date = Day(validate=past_date)
    identifier = Str(validate=IDENTIFIER)
    email = Email(validate=length(3, 254))
    new_email = Email(validate=length(3, 254))

    tidy = RegistrationSchema.tidy


class SupportRequestCreatedSchema(BaseSchema):
    request_id = fields.String(required=True)


class RegistrationCreatedSchema(BaseSchema):
    registration_id = fields.String(required=True)
    status = listed(ANSWERED, required=True)
    reason = listed(REFUSAL_REASONS)
    message = fields.String(required=True)


class RegistrationStatusSchema(RegistrationCreatedSchema):
    status = listed(REGISTRATION_STATUSES, required=True)
    created_at = fields.String(required=True)
    decided_at = fields.String()
