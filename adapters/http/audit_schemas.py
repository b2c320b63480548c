"""The auditors' query and answer bodies (audit.py)."""

from __future__ import annotations

from marshmallow import fields, validate

from adapters.http.schemas import BaseSchema
from domain.use_cases.audit import STATUSES

FEED_MAX_LIMIT = 1000
AT_INVALID = "Instant ISO 8601 avec décalage attendu."


def described(text: str) -> dict[str, str]:
    return {"description": text}


class AuditEventSchema(BaseSchema):
    position = fields.Integer(required=True)
    stream = fields.String(required=True)
    version = fields.Integer(required=True)
    type = fields.String(required=True)
    occurred_at = fields.String(required=True)
    actor = fields.String(allow_none=True)
    data = fields.Dict(required=True)


class HistorySchema(BaseSchema):
    events = fields.List(fields.Nested(AuditEventSchema), required=True)


class FeedQuerySchema(BaseSchema):
    after = fields.Integer(
        load_default=0, validate=validate.Range(0, 2**62, error="Entier positif attendu."),
        error_messages={"invalid": "Nombre entier attendu."},
    )
    limit = fields.Integer(
        load_default=100,
        validate=validate.Range(1, FEED_MAX_LIMIT, error=f"Entre 1 et {FEED_MAX_LIMIT}."),
        error_messages={"invalid": "Nombre entier attendu."},
    )


class FeedSchema(BaseSchema):
    events = fields.List(fields.Nested(AuditEventSchema), required=True)
    next_after = fields.Integer(required=True)


class StateQuerySchema(BaseSchema):
    at = fields.AwareDateTime(
        required=True,
        error_messages={
            "required": "Champ obligatoire.",
            "null": "Champ obligatoire.",
            "invalid": AT_INVALID,
            "invalid_awareness": AT_INVALID,
            "format": AT_INVALID,
        },
    )


class AccountStateSchema(BaseSchema):
    """The account as the contract shows it at an instant: every key always present, nothing
    of the aggregate's own bookkeeping (hashes, counters, pending requests)."""

    status = fields.String(required=True, metadata={
        "enum": list(STATUSES),
        "description": "`locked` : un blocage après 5 mots de passe erronés est en cours à "
        "cet instant ; `closed` : compte clôturé.",
    })
    email = fields.String(
        required=True, metadata=described("L'adresse e-mail, ou « [effacé] » après effacement.")
    )
    must_change_password = fields.Boolean(
        required=True,
        metadata=described("Aucun mot de passe personnel : la prochaine connexion se fait avec "
                           "un mot de passe temporaire, à remplacer aussitôt."),
    )
    locked_until = fields.DateTime(
        required=True, allow_none=True,
        metadata=described("Fin du blocage en cours à cet instant ; null sans blocage."),
    )
    alerts = fields.Boolean(
        required=True, metadata=described("Alertes e-mail des remboursements demandées.")
    )
    secret_question = fields.String(
        required=True, allow_none=True,
        metadata=described("La question secrète (jamais la réponse), null sans question, "
                           "« [effacé] » après effacement."),
    )
    last_sign_in_at = fields.DateTime(
        required=True, allow_none=True,
        metadata=described("Dernière connexion réussie à cet instant ; null avant la première."),
    )


class StateAtSchema(BaseSchema):
    identifier = fields.String(required=True)
    at = fields.DateTime(required=True, metadata=described("L'instant demandé."))
    version = fields.Integer(
        required=True,
        metadata=described("Version du compte à cet instant : son dernier événement d'alors."),
    )
    state = fields.Nested(AccountStateSchema, required=True)
