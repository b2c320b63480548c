"""The claims system's feed of health reimbursements (role claims)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import g
from flask.views import MethodView
from marshmallow import ValidationError, fields, validate

from adapters.http import Blueprint
from adapters.http.auth import BEARER, require_staff
from adapters.http.schemas import (
    MEMBER_NUMBER,
    BaseSchema,
    Day,
    Str,
    length,
    no_control_characters,
    not_blank,
    past_date,
)
from adapters.http.services import services
from domain.use_cases.views import ReimbursementFeedItem

blp = Blueprint(
    "claims", __name__, url_prefix="/api/v1/internal", description="Flux des prestations"
)

MAX_AMOUNT = Decimal("1000000")


class Money(Str):
    """A decimal string ("12.30"): positive, at most two decimals; kept as "12.30"."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValidationError("Montant décimal attendu, par exemple « 12.30 ».") from None
        if not amount.is_finite() or amount <= 0 or amount >= MAX_AMOUNT:
            raise ValidationError("Montant positif attendu.")
        if amount != amount.quantize(Decimal("0.01")):
            raise ValidationError("Deux décimales au plus.")
        return str(amount.quantize(Decimal("0.01")))


class Instant(fields.AwareDateTime):
    default_error_messages = {  # noqa: RUF012
        "required": "Champ obligatoire.",
        "null": "Champ obligatoire.",
        "invalid": "Instant ISO 8601 avec décalage attendu.",
        "invalid_awareness": "Instant ISO 8601 avec décalage attendu.",
        "format": "Instant ISO 8601 avec décalage attendu.",
    }


def not_in_future(value: datetime) -> None:
    try:
        value.astimezone(UTC)  # the read models keep instants in UTC
    except OverflowError:
        raise ValidationError("Instant hors des dates représentables.") from None
    if value > datetime.now(UTC):
        raise ValidationError("Instant passé attendu.")


class ReimbursementSchema(BaseSchema):
    reimbursement_id = Str(
        required=True,
        validate=validate.Regexp(
            r"\A[A-Za-z0-9._:-]{1,64}\Z", error="1 à 64 caractères A-Z, 0-9, . _ : -"
        ),
    )
    member_number = Str(required=True, validate=MEMBER_NUMBER)
    contract_id = Str(required=True, validate=[length(1, 40), no_control_characters])
    label = Str(required=True, validate=[length(1, 200), no_control_characters, not_blank])
    care_date = Day(required=True, validate=past_date)
    paid_at = Instant(required=True, validate=not_in_future)
    amount = Money(required=True)


class ReimbursementAcceptedSchema(BaseSchema):
    reimbursement_id = fields.String(required=True)


@blp.route("/reimbursements")
class Reimbursements(MethodView):
    @require_staff("claims")
    @blp.arguments(ReimbursementSchema)
    @blp.response(202, ReimbursementAcceptedSchema)
    @blp.alt_response(409, description="The same reimbursement_id with other facts")
    @blp.doc(**BEARER)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Record a reimbursement; a replay of the same one records nothing and answers 202."""
        s = services()
        s.outbox.check()
        s.use_cases.claims.record_reimbursement(ReimbursementFeedItem(**data), g.staff.actor)
        return {"reimbursement_id": data["reimbursement_id"]}
