"""What the member's sessions and data export look like in JSON, for the API, the security page
and the console alike; and the two use cases over this request's services.

The export document is built field by field from the use case's view: nothing is copied
wholesale from an event or a row, so a hash, a token or a digest has no way in. The history is
in the auditor's words (adapters/audit_words.py), which show only fields chosen to be read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask import Response, current_app

from adapters.audit_words import in_words, label, who
from adapters.devices import device_name
from adapters.http.audit import event_data
from adapters.http.services import services
from domain.use_cases.devices import Devices, SessionRecord
from domain.use_cases.export import Export, PersonalData


def devices() -> Devices:
    s = services()
    return Devices(s.lifecycle, s.sessions, device_name, s.clock)


def export() -> Export:
    s = services()
    return Export(s.lifecycle, s.directory, s.use_cases.audit, s.sessions, s.portal, s.clock)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def session_views(sessions: Sequence[SessionRecord], current: str | None) -> list[dict[str, Any]]:
    """`current`: the caller's own session's digest (None from the console)."""
    return [
        {
            "session_id": s.session_id,
            "created_at": s.created_at.isoformat(),
            "last_seen_at": s.last_seen_at.isoformat(),
            "device": device_name(s.user_agent),
            "current": s.digest == current,
        }
        for s in sessions
    ]


def document(data: PersonalData, current: str | None = None) -> dict[str, Any]:
    state = data.state
    return {
        "exported_at": data.exported_at.isoformat(),
        "account": {
            "identifier": data.identifier,
            "status": state["status"],
            "email": state["email"],
            "member_number": data.member_number,
            "first_name": data.first_name,
            "last_name": data.last_name,
            "sections": list(data.sections),
            "created_at": data.created_at.isoformat(),
            "last_sign_in_at": _iso(state["last_sign_in_at"]),
            "must_change_password": state["must_change_password"],
            "secret_question": state["secret_question"],
        },
        "history": [_event(event) for _, event in data.history],
        "sessions": session_views(data.sessions, current),
        "passkeys": [
            {"name": p.name, "added_at": _iso(p.added_at), "last_used_at": _iso(p.last_used_at)}
            for p in data.passkeys
        ],
        "reimbursements": [
            {
                "reimbursement_id": row["reimbursement_id"],
                "contract_id": row["contract_id"],
                "beneficiary": {"first_name": row["first_name"], "last_name": row["last_name"]},
                "label": row["label"],
                "care_date": row["care_date"],
                "paid_at": row["paid_at"],
                "amount": row["amount"],
            }
            for row in data.reimbursements
        ],
        "preferences": {"alerts": {"reimbursements": state["alerts"]}},
    }


def _event(event: Any) -> dict[str, Any]:
    kind = type(event).__name__
    return {
        "event": label(kind),
        "occurred_at": event.timestamp.isoformat(),
        "actor": who(getattr(event, "actor", None)),
        "details": [
            {"field": name, "value": value} for name, value in in_words(kind, event_data(event))
        ],
    }


def attachment_headers(identifier: str) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="mes-donnees-{identifier}.json"',
        "Cache-Control": "no-store",
    }


def attachment(body: dict[str, Any]) -> Response:
    """The document as a download, for the pages (the API's answer goes through its schema)."""
    response = current_app.json.response(body)
    response.headers.update(attachment_headers(body["account"]["identifier"]))
    return response
