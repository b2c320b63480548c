"""The claims system's feed of health reimbursements (role claims)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import g
from flask.views import MethodView
from marshmallow import ValidationError, fields

from adapters.http import Blueprint, examples
from adapters.http.auth import BEARER, require_staff
from adapters.http.openapi import BEARER_ERRORS, JSON_BODY, documented_errors
from adapters.http.schemas import (
    MEMBER_NUMBER,
    BaseSchema,
    Day,
    FullMatch,
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
        validate=FullMatch(
            r"^[A-Za-z0-9._:-]{1,64}$", error="1 à 64 caractères A-Z, 0-9, . _ : -"
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
    @blp.arguments(ReimbursementSchema, example=examples.REIMBURSEMENT)
    @blp.response(
        202, ReimbursementAcceptedSchema,
        example={"reimbursement_id": examples.REIMBURSEMENT["reimbursement_id"]},
    )
    @documented_errors(
        blp, *BEARER_ERRORS, *JSON_BODY, "conflict",
        invalid=("member_number", "Adhérent inconnu."),
        validation_error="Un champ est invalide, l'adhérent est inconnu, ou le contrat ne le "
        "couvre pas.",
        conflict="Le même reimbursement_id est revenu avec d'autres faits, ou une requête "
        "concurrente l'a emporté ; rien n'a été enregistré.",
    )
    @blp.doc(**BEARER)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Enregistrer un remboursement

        Un remboursement santé payé par le système de gestion, pour la personne soignée
        (adhérent principal ou bénéficiaire). Idempotent sur `reimbursement_id` : le même, une
        seconde fois, n'enregistre rien et répond 202.
        """
        s = services()
        s.outbox.check()
        s.use_cases.claims.record_reimbursement(ReimbursementFeedItem(**data), g.staff.actor)
        return {"reimbursement_id": data["reimbursement_id"]}
