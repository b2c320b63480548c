"""The support desk's API (role support): the queue, decisions, and account actions."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from flask import g
from flask.views import MethodView

from adapters.http import Blueprint, examples
from adapters.http.auth import BEARER, require_staff
from adapters.http.errors import ApiError
from adapters.http.openapi import BEARER_ERRORS, JSON_BODY, documented_errors
from adapters.http.services import services
from adapters.http.support_schemas import (
    QUEUE_MAX_LIMIT,
    AcceptedSchema,
    AccountSummarySchema,
    DecidedRegistrationSchema,
    QueueItemDetailSchema,
    QueueItemSchema,
    QueuePageSchema,
    QueueQuerySchema,
    RegistrationDecisionSchema,
    RequestDecisionSchema,
    RequestSchema,
    one_of,
)
from domain.account import Account
from domain.states import AccountStatus
from domain.support_request import SupportRequest, support_reference
from projections.support_queue import decode_cursor, encode_cursor, item_view

__all__ = [  # the schemas live in support_schemas.py
    "QUEUE_MAX_LIMIT", "AcceptedSchema", "AccountSummarySchema", "DecidedRegistrationSchema",
    "QueueItemDetailSchema", "QueueItemSchema", "QueuePageSchema", "QueueQuerySchema",
    "RegistrationDecisionSchema", "RequestDecisionSchema", "RequestSchema", "account_summary",
    "blp", "one_of", "request_view",
]

blp = Blueprint("support", __name__, url_prefix="/api/v1/support", description="Support")
UNKNOWN_ACCOUNT = "Aucun compte n'a cet identifiant."
RESENT = {"message": "Un nouveau mot de passe temporaire est envoyé au membre."}
DECISION_ERRORS = (*BEARER_ERRORS, *JSON_BODY, "not_found", "already_decided", "conflict")

def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise ApiError("not_found") from None


def request_view(request: SupportRequest) -> dict[str, Any]:
    return {
        "request_id": str(request.id),
        "kind": str(request.kind),
        "status": str(request.status),
        "created_at": request.created_on.isoformat(),
        "decided_at": request.decided_at.isoformat() if request.decided_at else None,
        "agent": request.agent,
        "note": request.note,
        "reason": request.reason,
        "reply": request.reply,
        "reference": support_reference(request.id),
    }


def account_summary(account: Account) -> dict[str, Any]:
    closed = account.status == AccountStatus.CLOSED
    entry = None if closed else services().directory.find(account.member_number)
    last = account.credentials_requests[-1] if account.credentials_requests else None
    now = services().clock()
    return {
        "identifier": account.identifier,
        "status": str(account.status),
        "created_at": account.created_on.isoformat(),
        # A closed account's personal data is not shown (CONTRACT.md, "Closure").
        "email": None if closed else account.email,
        "member_number": None if closed else account.member_number,
        "first_name": entry.first_name if entry else None,
        "last_name": entry.last_name if entry else None,
        "locked_until": account.locked_until.isoformat() if account.is_locked(now) else None,
        "has_signed_in": account.has_signed_in,
        "must_change_password": account.password_hash is None,
        "credentials_email": None if last is None or closed else {
            "requested_at": last.requested_at.isoformat(),
            "reason": last.reason,
            "sent": last.sent,
            "failures": last.failures,
        },
    }


@blp.route("/queue")
class Queue(MethodView):
    @require_staff("support")
    @blp.arguments(QueueQuerySchema, location="query")
    @blp.response(200, QueuePageSchema, example=examples.QUEUE_PAGE)
    @documented_errors(
        blp, *BEARER_ERRORS, "validation_error", invalid=("limit", "Entre 1 et 200."),
    )
    @blp.doc(**BEARER)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """File du support

        Les éléments, du plus ancien au plus récent, par type et par état (ouverts par
        défaut) ; `next_cursor` donne la page suivante, stable quand de nouveaux éléments
        arrivent.
        """
        after = None
        if "cursor" in query:
            after = decode_cursor(query["cursor"])
            if after is None:
                raise ApiError("validation_error", errors={"cursor": ["Curseur invalide."]})
        rows, next_seq = services().support_queue.list_items(
            query.get("kind"), query["status"], query["limit"], after
        )
        return {
            "items": [item_view(row) for row in rows],
            "next_cursor": encode_cursor(next_seq) if next_seq is not None else None,
        }


@blp.route("/queue/<item_id>")
class QueueItem(MethodView):
    @require_staff("support")
    @blp.response(200, QueueItemDetailSchema, example=examples.QUEUE_ITEM_DETAIL)
    @documented_errors(blp, *BEARER_ERRORS, "not_found", not_found="Élément inconnu.")
    @blp.doc(**BEARER)
    def get(self, item_id: str) -> dict[str, Any]:
        """Un élément de la file

        Avec ses détails : pour une vérification d'identité, les nom et prénom déclarés à côté
        de ceux de l'annuaire ; une fois traité, la décision et son motif `reason`, qui
        reste après l'effacement des données du membre quand la décision (et sa note) s'efface.
        """
        row = services().support_queue.get_item(item_id)
        if row is None:
            raise ApiError("not_found")
        return {
            **item_view(row),
            "closed_at": row["closed_at"],
            "details": json.loads(row["details"]),
            "decision": json.loads(row["decision"]) if row["decision"] else None,
            "reason": row.get("reason"),
        }


@blp.route("/registrations/<registration_id>/decision")
class RegistrationDecision(MethodView):
    @require_staff("support")
    @blp.arguments(RegistrationDecisionSchema, example=examples.REGISTRATION_DECISION)
    @blp.response(200, DecidedRegistrationSchema, example=examples.DECIDED_REGISTRATION)
    @documented_errors(
        blp, *DECISION_ERRORS, invalid=("decision", "Valeur attendue : approve, reject."),
        not_found="Inscription inconnue.",
        validation_error="Un champ est absent, d'un mauvais type, trop long ou invalide : "
        "`reason` doit être l'un des motifs de cette décision ; `errors` dit lesquels.",
        conflict="Un compte est déjà ouvert pour cet adhérent, ou une modification concurrente "
        "l'a emporté ; rien n'a été enregistré.",
    )
    @blp.doc(**BEARER)
    def post(self, data: dict[str, Any], registration_id: str) -> dict[str, Any]:
        """Décider une vérification d'identité

        `approve` ouvre le compte et envoie les identifiants ; `reject` envoie un e-mail de
        refus. La décision est enregistrée avec le nom de l'agent, sa note et, s'il est
        donné, son motif `reason` (facultatif) : la note s'efface avec les données du membre,
        le motif reste.
        """
        s = services()
        s.outbox.check()
        view = s.use_cases.support.decide_registration(
            _uuid(registration_id), data["decision"] == "approve", g.staff.name, data["note"],
            reason=data.get("reason"),
        )
        body = {
            "registration_id": str(view.registration_id),
            "status": view.status,
            "created_at": view.created_at.isoformat(),
        }
        if view.decided_at:
            body["decided_at"] = view.decided_at.isoformat()
        return body


@blp.route("/requests/<request_id>/decision")
class RequestDecision(MethodView):
    @require_staff("support")
    @blp.arguments(RequestDecisionSchema, example=examples.REQUEST_DECISION)
    @blp.response(200, RequestSchema, example=examples.DECIDED_REQUEST)
    @documented_errors(
        blp, *DECISION_ERRORS, invalid=("decision", "Valeur attendue : accept, reject."),
        not_found="Demande inconnue.",
        conflict="La demande ne peut pas être acceptée ainsi (aucun compte concerné, pas de "
        "nouvelle adresse, compte clôturé), ou une modification concurrente l'a emporté.",
        validation_error="Un champ est absent, d'un mauvais type, trop long ou invalide : "
        "`reply` refuse les caractères de contrôle ou de mise en forme, plus de 2000 "
        "caractères, et toute réponse à une clôture acceptée ; `reason` doit être l'un des "
        "motifs de cette décision pour ce type de demande ; `errors` dit lesquels.",
    )
    @blp.doc(**BEARER)
    def post(self, data: dict[str, Any], request_id: str) -> dict[str, Any]:
        """Décider une demande

        Accepter un changement d'adresse change l'e-mail et envoie de nouveaux identifiants ;
        accepter une clôture ferme le compte et efface les données personnelles du membre.
        Le demandeur reçoit la décision par e-mail avec la réponse `reply`, sauf quand un
        autre e-mail la lui apprend (nouveaux identifiants, avis de clôture) ; une réponse
        à un changement d'adresse accepté lui est envoyée à part. Une clôture acceptée ne
        prend pas de réponse. Le motif `reason` (facultatif) reste lisible après
        l'effacement des données du membre, quand la note ne l'est plus.
        """
        s = services()
        s.outbox.check()
        request = s.use_cases.support.decide_request(
            _uuid(request_id), data["decision"] == "accept", g.staff.name, data["note"],
            data.get("new_email"), reply=data.get("reply"), reason=data.get("reason"),
        )
        return request_view(request)


@blp.route("/accounts/<identifier>")
class SupportAccount(MethodView):
    @require_staff("support")
    @blp.response(200, AccountSummarySchema, example=examples.ACCOUNT_SUMMARY)
    @documented_errors(blp, *BEARER_ERRORS, "not_found", not_found=UNKNOWN_ACCOUNT)
    @blp.doc(**BEARER)
    def get(self, identifier: str) -> dict[str, Any]:
        """Un compte

        Le compte tel que le support le voit : état, blocage, dernier e-mail d'identifiants ;
        un compte clôturé ne montre plus de données personnelles.
        """
        return account_summary(services().use_cases.support.account_for_support(identifier))


@blp.route("/accounts/<identifier>/credentials")
class SupportCredentials(MethodView):
    @require_staff("support")
    @blp.response(202, AcceptedSchema, example=RESENT)
    @documented_errors(
        blp, *BEARER_ERRORS, "not_found", "conflict", not_found=UNKNOWN_ACCOUNT,
        conflict="Compte clôturé, ou une modification concurrente l'a emporté.",
    )
    @blp.doc(**BEARER)
    def post(self, identifier: str) -> dict[str, Any]:
        """Renvoyer les identifiants

        Un nouveau mot de passe temporaire part par e-mail avec l'identifiant ; ces envois ne
        sont pas plafonnés.
        """
        s = services()
        s.outbox.check()
        s.use_cases.support.resend_credentials(identifier, g.staff.name)
        return RESENT


@blp.route("/accounts/<identifier>/unlock")
class SupportUnlock(MethodView):
    @require_staff("support")
    @blp.response(200, AccountSummarySchema, example=examples.ACCOUNT_SUMMARY)
    @documented_errors(
        blp, *BEARER_ERRORS, "not_found", "conflict", not_found=UNKNOWN_ACCOUNT,
        conflict="Compte clôturé, ou une modification concurrente l'a emporté.",
    )
    @blp.doc(**BEARER)
    def post(self, identifier: str) -> dict[str, Any]:
        """Débloquer un compte

        Lève un blocage avant la fin de ses 15 minutes.
        """
        return account_summary(services().use_cases.support.unlock(identifier, g.staff.name))
