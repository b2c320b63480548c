"""The support desk's API (role support): the queue, decisions, and account actions."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from flask import g
from flask.views import MethodView
from marshmallow import fields, validate

from adapters.http import Blueprint
from adapters.http.auth import BEARER, require_staff
from adapters.http.errors import ApiError
from adapters.http.schemas import BaseSchema, Email, Str, length, no_control_characters
from adapters.http.services import services
from domain.account import Account
from domain.states import AccountStatus
from domain.support_request import SupportRequest
from projections.support_queue import KINDS, decode_cursor, encode_cursor, item_view

blp = Blueprint("support", __name__, url_prefix="/api/v1/support", description="Support")

QUEUE_MAX_LIMIT = 200


def one_of(choices: tuple[str, ...] | list[str]) -> validate.OneOf:
    return validate.OneOf(choices, error="Valeur attendue : " + ", ".join(choices) + ".")


class QueueQuerySchema(BaseSchema):
    kind = Str(validate=one_of(KINDS))
    status = Str(load_default="open", validate=one_of(("open", "closed")))
    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(1, QUEUE_MAX_LIMIT, error=f"Entre 1 et {QUEUE_MAX_LIMIT}."),
        error_messages={"invalid": "Nombre entier attendu."},
    )
    cursor = Str(validate=length(1, 100))


class QueueItemSchema(BaseSchema):
    item_id = fields.String(required=True)
    kind = fields.String(required=True)
    status = fields.String(required=True)
    created_at = fields.String(required=True)
    summary = fields.String(required=True)
    registration_id = fields.String()
    identifier = fields.String()
    request_id = fields.String()


class QueuePageSchema(BaseSchema):
    items = fields.List(fields.Nested(QueueItemSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class QueueItemDetailSchema(QueueItemSchema):
    closed_at = fields.String(allow_none=True)
    details = fields.Dict()
    decision = fields.Dict(allow_none=True)


class RegistrationDecisionSchema(BaseSchema):
    decision = Str(required=True, validate=one_of(("approve", "reject")))
    note = Str(load_default="", validate=[length(0, 2000), no_control_characters])


class RequestDecisionSchema(BaseSchema):
    decision = Str(required=True, validate=one_of(("accept", "reject")))
    note = Str(load_default="", validate=[length(0, 2000), no_control_characters])
    new_email = Email(validate=length(3, 254))


class DecidedRegistrationSchema(BaseSchema):
    registration_id = fields.String(required=True)
    status = fields.String(required=True)
    created_at = fields.String(required=True)
    decided_at = fields.String()


class RequestSchema(BaseSchema):
    request_id = fields.String(required=True)
    kind = fields.String(required=True)
    status = fields.String(required=True)
    created_at = fields.String(required=True)
    decided_at = fields.String(allow_none=True)
    agent = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class AccountSummarySchema(BaseSchema):
    identifier = fields.String(required=True)
    status = fields.String(required=True)
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
    @blp.response(200, QueuePageSchema)
    @blp.doc(**BEARER)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The queue, oldest first; `next_cursor` continues it (stable as new items arrive)."""
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
    @blp.response(200, QueueItemDetailSchema)
    @blp.alt_response(404, description="Unknown item")
    @blp.doc(**BEARER)
    def get(self, item_id: str) -> dict[str, Any]:
        """An item with its details: for identity_review, both spellings of the names."""
        row = services().support_queue.get_item(item_id)
        if row is None:
            raise ApiError("not_found")
        return {
            **item_view(row),
            "closed_at": row["closed_at"],
            "details": json.loads(row["details"]),
            "decision": json.loads(row["decision"]) if row["decision"] else None,
        }


@blp.route("/registrations/<registration_id>/decision")
class RegistrationDecision(MethodView):
    @require_staff("support")
    @blp.arguments(RegistrationDecisionSchema)
    @blp.response(200, DecidedRegistrationSchema)
    @blp.alt_response(409, description="already_decided")
    @blp.doc(**BEARER)
    def post(self, data: dict[str, Any], registration_id: str) -> dict[str, Any]:
        """Approve (account opened, credentials e-mailed) or reject (a French e-mail says so)."""
        s = services()
        s.outbox.check()
        view = s.use_cases.support.decide_registration(
            _uuid(registration_id), data["decision"] == "approve", g.staff.name, data["note"]
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
    @blp.arguments(RequestDecisionSchema)
    @blp.response(200, RequestSchema)
    @blp.alt_response(409, description="already_decided")
    @blp.doc(**BEARER)
    def post(self, data: dict[str, Any], request_id: str) -> dict[str, Any]:
        """Accept or reject a request: an accepted closure closes the account."""
        s = services()
        s.outbox.check()
        request = s.use_cases.support.decide_request(
            _uuid(request_id), data["decision"] == "accept", g.staff.name, data["note"],
            data.get("new_email"),
        )
        return request_view(request)


@blp.route("/accounts/<identifier>")
class SupportAccount(MethodView):
    @require_staff("support")
    @blp.response(200, AccountSummarySchema)
    @blp.alt_response(404, description="Unknown identifier")
    @blp.doc(**BEARER)
    def get(self, identifier: str) -> dict[str, Any]:
        """An account as support sees it; a closed one shows no personal data."""
        return account_summary(services().use_cases.support.account_for_support(identifier))


@blp.route("/accounts/<identifier>/credentials")
class SupportCredentials(MethodView):
    @require_staff("support")
    @blp.response(202, AcceptedSchema)
    @blp.doc(**BEARER)
    def post(self, identifier: str) -> dict[str, Any]:
        """Re-send the credentials: a new temporary password (not capped)."""
        s = services()
        s.outbox.check()
        s.use_cases.support.resend_credentials(identifier, g.staff.name)
        return {"message": "Un nouveau mot de passe temporaire est envoyé au membre."}


@blp.route("/accounts/<identifier>/unlock")
class SupportUnlock(MethodView):
    @require_staff("support")
    @blp.response(200, AccountSummarySchema)
    @blp.doc(**BEARER)
    def post(self, identifier: str) -> dict[str, Any]:
        """Lift a lockout before its 15 minutes are over."""
        return account_summary(services().use_cases.support.unlock(identifier, g.staff.name))
