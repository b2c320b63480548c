"""The auditors' API (role auditor, read-only): an account's story, its state at an instant,
and the global ordered feed of every event."""

from __future__ import annotations

import base64
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from flask.views import MethodView

from adapters.http import Blueprint, examples
from adapters.http.audit_schemas import (
    AT_INVALID,
    FeedQuerySchema,
    FeedSchema,
    HistorySchema,
    StateAtSchema,
    StateQuerySchema,
)
from adapters.http.auth import BEARER, require_staff
from adapters.http.openapi import BEARER_ERRORS, documented_errors
from adapters.http.services import services

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="Audit")

METADATA = {"originator_id", "originator_version", "timestamp", "originator_topic"}
# Hashes are redacted like the secrets they protect (CONTRACT.md, "Audit"); an idempotency
# record's body digest is a keyed hash of a body that may hold a secret answer.
REDACTED_FIELDS = {
    "password_hash", "temp_password_hash", "secret_answer_hash", "answer_hash", "token_hash",
    "token_digest", "body_digest", "code_hashes", "recovery_code_hashes",
}
REDACTED = "[masqué]"


def jsonable(value: Any) -> Any:
    """JSON-ready, with every hash of a secret replaced, at any depth."""
    if isinstance(value, dict):
        return {
            str(k): REDACTED if k in REDACTED_FIELDS and v is not None else jsonable(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if hasattr(value, "__dict__"):
        return jsonable(vars(value))
    return value


def event_data(event: Any) -> dict[str, Any]:
    # Underscored attributes are the store's (chain hash, erasure mark), not the event's.
    return jsonable({
        k: v for k, v in vars(event).items() if k not in METADATA and not k.startswith("_")
    })


def stream_name(event: Any) -> str:
    aggregate = type(event).__qualname__.split(".")[0]
    return f"{aggregate}:{event.originator_id}"


def event_view(position: int, event: Any) -> dict[str, Any]:
    return {
        "position": position,
        "stream": stream_name(event),
        "version": event.originator_version,
        "type": type(event).__name__,
        "occurred_at": event.timestamp.isoformat(),
        "actor": getattr(event, "actor", None),
        "data": event_data(event),
        # The chain's own hash of the stored event, the tree's leaf (CONTRACT.md, "Audit").
        "hash": base64.b64encode(bytes.fromhex(event._hash)).decode("ascii"),
    }


@blp.route("/accounts/<identifier>/events")
class AccountHistory(MethodView):
    @require_staff("auditor")
    @blp.response(200, HistorySchema, example=examples.HISTORY)
    @documented_errors(
        blp, *BEARER_ERRORS, "not_found", not_found="Aucun compte n'a cet identifiant."
    )
    @blp.doc(**BEARER)
    def get(self, identifier: str) -> dict[str, Any]:
        """Histoire d'un compte

        Tous les événements du compte, de ses inscriptions, de ses demandes et de ses
        remboursements, dans l'ordre du journal ; secrets et empreintes masqués.
        """
        history = services().use_cases.audit.history(identifier)
        return {"events": [event_view(position, event) for position, event in history]}


@blp.route("/accounts/<identifier>/state")
class AccountStateAt(MethodView):
    @require_staff("auditor")
    @blp.arguments(StateQuerySchema, location="query")
    @blp.response(200, StateAtSchema, example=examples.AUDIT_STATE_AT)
    @documented_errors(
        blp, *BEARER_ERRORS, "validation_error", "not_found",
        invalid=("at", AT_INVALID),
        validation_error="`at` absent, ou qui n'est pas un instant ISO 8601 avec son décalage "
        "(écrire son `+` `%2B` dans l'URL).",
        not_found="Aucun compte n'a cet identifiant, ou il n'existait pas encore à cet instant.",
    )
    @blp.doc(**BEARER)
    def get(self, query: dict[str, Any], identifier: str) -> dict[str, Any]:
        """État d'un compte à un instant

        Le compte reconstruit à partir de ses événements enregistrés jusqu'à l'instant `at` :
        statut (`locked` si un blocage est en cours à cet instant), adresse e-mail, mot de
        passe à changer, fin du blocage, alertes des remboursements, question secrète (jamais
        sa réponse) et dernière connexion ; les données effacées se lisent « [effacé] ».
        """
        at = query["at"]
        then = services().use_cases.audit.state_at(identifier, at)
        return {
            "identifier": then.identifier, "at": at, "version": then.version,
            "state": then.state,
        }


@blp.route("/events")
class Feed(MethodView):
    @require_staff("auditor")
    @blp.arguments(FeedQuerySchema, location="query")
    @blp.response(200, FeedSchema, example=examples.FEED)
    @documented_errors(
        blp, *BEARER_ERRORS, "validation_error", invalid=("limit", "Entre 1 et 1000.")
    )
    @blp.doc(**BEARER)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Journal de tous les événements

        Le flux global, ordonné par position, pour le rejouer ailleurs : les événements après
        `after`, `limit` au plus ; `next_after` continue la lecture.
        """
        after = query["after"]
        feed = services().use_cases.audit.feed(after, query["limit"])
        return {
            "events": [event_view(position, event) for position, event in feed],
            "next_after": feed[-1][0] if feed else after,
        }
