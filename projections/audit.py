"""The auditors' index: where every event of every member's streams sits in the log.

The event store answers "the events of stream X"; auditors ask "everything about member M,
in log order, with positions". This index maps each stream to its member and records each
event's position, type, instant and actor; the event data itself is read from the store.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.account import Account
from domain.enrollment import Enrollment
from domain.support_request import SupportRequest
from projections.view import View


class AuditView(View):
    tables = (
        """CREATE TABLE IF NOT EXISTS audit_streams (
            stream_id TEXT PRIMARY KEY,
            member_number TEXT NOT NULL,
            kind TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS audit_streams_member ON audit_streams (member_number)",
        """CREATE TABLE IF NOT EXISTS audit_events (
            position BIGINT PRIMARY KEY,
            stream_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            type TEXT NOT NULL,
            occurred_at TEXT NOT NULL,
            actor TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS audit_events_stream ON audit_events (stream_id, version)",
    )
    table_names = ("audit_streams", "audit_events")

    def member_events(self, member_number: str) -> list[dict[str, Any]]:
        """Every indexed event of the member's streams, oldest first."""
        with self.database.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT e.* FROM audit_events e JOIN audit_streams s ON s.stream_id = e.stream_id"
                " WHERE s.member_number = %s ORDER BY e.position",
                (member_number,),
            )
            return cursor.fetchall()

    def all_rows(self) -> dict[str, list[dict[str, Any]]]:
        with self.database.transaction(commit=False) as cursor:
            cursor.execute("SELECT * FROM audit_streams ORDER BY stream_id")
            streams = cursor.fetchall()
            cursor.execute("SELECT * FROM audit_events ORDER BY position")
            events = cursor.fetchall()
        return {"audit_streams": streams, "audit_events": events}


def _event_row(event: Any, tracking: Tracking) -> tuple[str, list[Any]]:
    return (
        "INSERT INTO audit_events (position, stream_id, version, type, occurred_at, actor)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (position) DO NOTHING",
        [tracking.notification_id, str(event.originator_id), event.originator_version,
         type(event).__name__, event.timestamp.isoformat(), getattr(event, "actor", None)],
    )


def _stream(stream_id: UUID, member_number: str, kind: str) -> tuple[str, list[Any]]:
    return (
        "INSERT INTO audit_streams (stream_id, member_number, kind) VALUES (%s, %s, %s)"
        " ON CONFLICT (stream_id) DO NOTHING",
        [str(stream_id), member_number, kind],
    )


class AuditIndex(Projection[AuditView]):
    name = "audit"
    # Only the account's, its registrations' and its requests' events are its story
    # (CONTRACT.md); index aggregates and reimbursements are not.

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        member_stream = isinstance(
            domain_event, Account.Event | Enrollment.Event | SupportRequest.Event
        )
        self.view.record(tracking, [_event_row(domain_event, tracking)] if member_stream else [])

    @process_event.register
    def registration_requested(
        self, event: Enrollment.RegistrationRequested, tracking: Tracking
    ) -> None:
        self.view.record(tracking, [
            _stream(event.originator_id, event.member_number, "registration"),
            _event_row(event, tracking),
        ])

    @process_event.register
    def account_opened(self, event: Account.AccountOpened, tracking: Tracking) -> None:
        self.view.record(tracking, [
            _stream(event.originator_id, event.member_number, "account"),
            _event_row(event, tracking),
        ])

    @process_event.register
    def request_submitted(
        self, event: SupportRequest.SupportRequestSubmitted, tracking: Tracking
    ) -> None:
        statements = [_event_row(event, tracking)]
        if event.member_number:
            statements.insert(0, _stream(event.originator_id, event.member_number, "request"))
        elif event.account_id is not None:
            statements.insert(0, (
                "INSERT INTO audit_streams (stream_id, member_number, kind)"
                " SELECT %s, member_number, 'request' FROM audit_streams WHERE stream_id = %s"
                " ON CONFLICT (stream_id) DO NOTHING",
                [str(event.originator_id), str(event.account_id)],
            ))
        self.view.record(tracking, statements)
