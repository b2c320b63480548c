"""The support desk's request and answer bodies (support.py)."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from adapters.http.schemas import (
    BaseSchema,
    Email,
    Str,
    length,
    listed,
    no_control_characters,
    not_blank,
)
from domain.decision_reasons import LABELS as REASON_LABELS
from domain.decision_reasons import UNKNOWN as UNKNOWN_REASON
from domain.decision_reasons import codes_of, reasons_for
from domain.states import AccountStatus
from domain.support_request import REPLY_MAX_LENGTH, RequestKind, RequestStatus
from projections.support_queue import KINDS

ITEM_STATUSES = ("open", "closed")
QUEUE_MAX_LIMIT = 200


def one_of(choices: tuple[str, ...] | list[str]) -> validate.OneOf:
    return validate.OneOf(choices, error="Valeur attendue : " + ", ".join(choices) + ".")


class QueueQuerySchema(BaseSchema):
    kind = Str(validate=one_of(KINDS))
    status = Str(load_default="open", validate=one_of(ITEM_STATUSES))
    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(1, QUEUE_MAX_LIMIT, error=f"Entre 1 et {QUEUE_MAX_LIMIT}."),
        error_messages={"invalid": "Nombre entier attendu."},
    )
    cursor = Str(validate=length(1, 100))


class QueueItemSchema(BaseSchema):
    item_id = fields.String(required=True)
    kind = listed(KINDS, required=True)
    status = listed(ITEM_STATUSES, required=True)
    created_at = fields.String(required=True)
    summary = fields.String(required=True)
    registration_id = fields.String()
    identifier = fields.String()
    request_id = fields.String()


class QueuePageSchema(BaseSchema):
    items = fields.List(fields.Nested(QueueItemSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class QueueDecisionSchema(BaseSchema):
    decision = listed(("approve", "reject", "accept"), required=True)
    agent = fields.String(required=True)
    note = fields.String(required=True)


REVIEW_REASONS = codes_of(("identity_review",))
REQUEST_REASONS = codes_of(tuple(RequestKind))
REASON_OUTPUT = (
    "Motif de la décision (code, voir `reason` des corps de décision), ou null. Il ne nomme "
    "personne : il reste lisible après l'effacement des données du membre, quand la note "
    "ne l'est plus."
)


def reason_field(kinds: tuple[str, ...], codes: tuple[str, ...]) -> Str:
    """The optional `reason` of a decision body, with each code's words and the decisions
    that take it in the document."""
    lines = [
        f"- `{code}` : {REASON_LABELS[code]} ("
        + ", ".join(f"{kind}/{decision}" for kind in kinds
                    for decision in ("approve", "reject", "accept")
                    if code in reasons_for(kind, decision))
        + ")"
        for code in codes
    ]
    return Str(
        allow_none=True, load_default=None,
        validate=validate.OneOf(codes, error=UNKNOWN_REASON),
        metadata={"description": (
            "Motif de la décision, dans la liste fixée pour ce type d'élément et cette "
            "décision (type/décision entre parenthèses) ; facultatif (null : non précisé). "
            "Contrairement à la note, qui peut citer le membre et s'efface avec ses données, "
            "le motif reste lisible après une clôture. Un motif qui ne convient pas à la "
            "décision est refusé (`validation_error` sur `reason`), sans rien enregistrer.\n\n"
            + "\n".join(lines)
        )},
    )


class QueueItemDetailSchema(QueueItemSchema):
    closed_at = fields.String(allow_none=True)
    details = fields.Dict()
    decision = fields.Nested(QueueDecisionSchema, allow_none=True)
    reason = fields.String(allow_none=True, metadata={"description": REASON_OUTPUT})


class RegistrationDecisionSchema(BaseSchema):
    decision = Str(required=True, validate=one_of(("approve", "reject")))
    note = Str(load_default="", validate=[length(0, 2000), no_control_characters])
    reason = reason_field(("identity_review",), REVIEW_REASONS)

    @validates_schema
    def _reason_of_this_decision(self, data: dict, **kwargs: object) -> None:
        reason = data.get("reason")
        if reason is not None and reason not in reasons_for("identity_review",
                                                             data.get("decision", "")):
            raise ValidationError(UNKNOWN_REASON, field_name="reason")


class RequestDecisionSchema(BaseSchema):
    decision = Str(required=True, validate=one_of(("accept", "reject")))
    note = Str(load_default="", validate=[length(0, 2000), no_control_characters])
    # Which of these fits depends on the request's kind: the use case checks that.
    reason = reason_field(tuple(RequestKind), REQUEST_REASONS)
    new_email = Email(validate=length(3, 254))
    # To the requester, and e-mailed to them: checked like the message it answers.
    reply = Str(
        allow_none=True,
        validate=[length(1, REPLY_MAX_LENGTH), no_control_characters, not_blank],
        metadata={"description": "Réponse au demandeur, envoyée par e-mail avec la décision "
                                 "(sauf pour une clôture acceptée : l'avis de clôture répond)."},
    )


class DecidedRegistrationSchema(BaseSchema):
    registration_id = fields.String(required=True)
    status = listed(("approved", "rejected"), required=True)
    created_at = fields.String(required=True)
    decided_at = fields.String()


class RequestSchema(BaseSchema):
    request_id = fields.String(required=True)
    kind = listed(tuple(RequestKind), required=True)
    status = listed(tuple(RequestStatus), required=True)
    created_at = fields.String(required=True)
    decided_at = fields.String(allow_none=True)
    agent = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    reason = fields.String(allow_none=True, metadata={"description": REASON_OUTPUT})
    reply = fields.String(allow_none=True)
    reference = fields.String(
        required=True, metadata={"description": "La référence que le demandeur peut rappeler."}
    )


class AccountSummarySchema(BaseSchema):
    identifier = fields.String(required=True)
    status = listed(tuple(AccountStatus), required=True)
    created_at = fields.String(required=True)
    email = fields.String(allow_none=True)
    member_number = fields.String(allow_none=True)
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    locked_until = fields.String(allow_none=True)
    has_signed_in = fields.Boolean()
    must_change_password = fields.Boolean()
    credentials_email = fields.Dict(allow_none=True)


class AcceptedSchema(BaseSchema):
    message = fields.String(required=True)
