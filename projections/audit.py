"""The auditors' index: where every event sits in the log, and what it hashed to.

The event store answers "the events of stream X"; auditors ask "everything about member M,
in log order, with positions". This index maps each member's stream to the member's
pseudonymous key and records every event's position, type, instant, actor and hash (the hash
is how `audit verify` notices a changed or deleted last event of a stream); the event data
itself is read from the store.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.account import Account
from domain.enrollment import Enrollment
from domain.reimbursement import Reimbursement
from domain.support_request import SupportRequest
from projections.view import View


class AuditView(View):
    # 2: a member's reimbursements are part of their story (the console's timeline shows
    # them); version 1 indexed their events but no stream.
    version = 2
    tables = (
        """CREATE TABLE IF NOT EXISTS audit_streams (
            stream_id TEXT PRIMARY KEY,
            member_key TEXT NOT NULL,
            kind TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS audit_streams_member ON audit_streams (member_key)",
        """CREATE TABLE IF NOT EXISTS audit_events (
            position BIGINT PRIMARY KEY,
            stream_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            type TEXT NOT NULL,
            occurred_at TEXT NOT NULL,
            actor TEXT,
            hash TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS audit_events_stream ON audit_events (stream_id, version)",
    )
    table_names = ("audit_streams", "audit_events")

    def member_events(self, member_key: UUID) -> list[dict[str, Any]]:
        """Every indexed event of the member's streams, oldest first."""
        with self.database.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT e.* FROM audit_events e JOIN audit_streams s ON s.stream_id = e.stream_id"
                " WHERE s.member_key = %s ORDER BY e.position",
                (str(member_key),),
            )
            return cursor.fetchall()

    def recorded_hashes(self, first: int, last: int | None) -> dict[int, dict[str, Any]]:
        """Position -> (stream, version, hash) as indexed, for positions first..last."""
        with self.database.transaction(commit=False) as cursor:
            if last is None:
                cursor.execute(
                    "SELECT position, stream_id, version, type, hash FROM audit_events"
                    " WHERE position >= %s", (first,),
                )
            else:
                cursor.execute(
                    "SELECT position, stream_id, version, type, hash FROM audit_events"
                    " WHERE position BETWEEN %s AND %s", (first, last),
                )
            return {row["position"]: row for row in cursor.fetchall()}

    def all_rows(self) -> dict[str, list[dict[str, Any]]]:
        with self.database.transaction(commit=False) as cursor:
            cursor.execute("SELECT * FROM audit_streams ORDER BY stream_id")
            streams = cursor.fetchall()
            cursor.execute("SELECT * FROM audit_events ORDER BY position")
            events = cursor.fetchall()
        return {"audit_streams": streams, "audit_events": events}


def _event_row(event: Any, tracking: Tracking) -> tuple[str, list[Any]]:
    return (
        "INSERT INTO audit_events (position, stream_id, version, type, occurred_at, actor,"
        " hash) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (position) DO NOTHING",
        [tracking.notification_id, str(event.originator_id), event.originator_version,
         type(event).__name__, event.timestamp.isoformat(), getattr(event, "actor", None),
         event._hash],
    )


def _stream(stream_id: UUID, member_key: UUID, kind: str) -> tuple[str, list[Any]]:
    return (
        "INSERT INTO audit_streams (stream_id, member_key, kind) VALUES (%s, %s, %s)"
        " ON CONFLICT (stream_id) DO NOTHING",
        [str(stream_id), str(member_key), kind],
    )


class AuditIndex(Projection[AuditView]):
    name = "audit"
    # Every event is indexed (for its hash); the account's, its registrations', its requests'
    # and its reimbursements' streams are a member's story, not index aggregates'.

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.record(tracking, [_event_row(domain_event, tracking)])

    @process_event.register
    def registration_requested(
        self, event: Enrollment.RegistrationRequested, tracking: Tracking
    ) -> None:
        self.view.record(tracking, [
            _stream(event.originator_id, event.member_key, "registration"),
            _event_row(event, tracking),
        ])

    @process_event.register
    def account_opened(self, event: Account.AccountOpened, tracking: Tracking) -> None:
        self.view.record(tracking, [
            _stream(event.originator_id, event.member_key, "account"),
            _event_row(event, tracking),
        ])

    @process_event.register
    def request_submitted(
        self, event: SupportRequest.SupportRequestSubmitted, tracking: Tracking
    ) -> None:
        statements = [_event_row(event, tracking)]
        if event.member_key is not None:
            statements.insert(0, _stream(event.originator_id, event.member_key, "request"))
        self.view.record(tracking, statements)

    @process_event.register
    def reimbursement_recorded(
        self, event: Reimbursement.ReimbursementRecorded, tracking: Tracking
    ) -> None:
        # The principal member's: the member whose portal shows it.
        self.view.record(tracking, [
            _stream(event.originator_id, event.member_key, "reimbursement"),
            _event_row(event, tracking),
        ])
