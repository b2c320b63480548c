"""The support agents' queue: one item per matter that needs a person, closed when decided."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid5

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.account import Account
from domain.enrollment import Enrollment
from domain.indexes import NAMESPACE
from domain.mail import MailKind, mail_due
from domain.personal_data import is_erased
from domain.reimbursement import Reimbursement
from domain.support_request import SupportRequest
from projections.view import Statement, View

OVERDUE_AFTER = timedelta(hours=1)
KINDS = ("identity_review", "undelivered_email", "email_update", "closure", "other")
ERASED = "(données personnelles effacées)"


def item_id(kind: str, source: str) -> str:
    """Deterministic, so a rebuild from zero gives every item the same id."""
    return str(uuid5(NAMESPACE, f"support-item:{kind}:{source}"))


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"q{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        seq = int(text[1:]) if text.startswith("q") and text[1:].isdigit() else None
        return seq if seq is not None and seq < 2**63 else None  # a BIGINT, or nothing
    except (ValueError, UnicodeDecodeError):
        return None


class SupportQueueView(View):
    tables = (
        """CREATE TABLE IF NOT EXISTS support_queue_items (
            item_id TEXT PRIMARY KEY,
            seq BIGINT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at TEXT NOT NULL,
            closed_at TEXT,
            summary TEXT NOT NULL,
            registration_id TEXT,
            identifier TEXT,
            request_id TEXT,
            account_id TEXT,
            member_number TEXT,
            member_key TEXT,
            details TEXT NOT NULL,
            decision TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS support_queue_status ON support_queue_items (status, seq)",
        "CREATE INDEX IF NOT EXISTS support_queue_kind ON support_queue_items (kind, status, seq)",
        "CREATE INDEX IF NOT EXISTS support_queue_account ON support_queue_items (account_id)",
        "CREATE INDEX IF NOT EXISTS support_queue_member ON support_queue_items (member_key)",
        """CREATE TABLE IF NOT EXISTS support_pending_credentials (
            request_id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            requested_at TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS support_pending_account"
        " ON support_pending_credentials (account_id)",
        # E-mail changes whose verification code no worker has drawn yet (the reconciler's).
        """CREATE TABLE IF NOT EXISTS support_pending_verifications (
            request_id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            requested_at TEXT NOT NULL
        )""",
        # Closed accounts whose member is not erased yet: normally for milliseconds, longer
        # only if the closing process died in between (workers/checks.py finishes those).
        """CREATE TABLE IF NOT EXISTS support_unerased (
            account_id TEXT PRIMARY KEY,
            closed_at TEXT NOT NULL
        )""",
        # Notices, rejection e-mails and reimbursement alerts whose outcome is not recorded yet
        # (the reconciler's): the source is the account, registration or reimbursement, the
        # version that of its event the e-mail is about.
        """CREATE TABLE IF NOT EXISTS support_pending_mail (
            kind TEXT NOT NULL,
            source_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            committed_at TEXT NOT NULL,
            PRIMARY KEY (kind, source_id, version)
        )""",
    )
    table_names = (
        "support_queue_items", "support_pending_credentials", "support_pending_verifications",
        "support_unerased", "support_pending_mail",
    )

    def list_items(
        self, kind: str | None, status: str, limit: int, after: int | None
    ) -> tuple[list[dict[str, Any]], int | None]:
        """A page, oldest first; the second value is the seq to continue after, if any."""
        where, params = ["status = %s"], [status]
        if kind:
            where.append("kind = %s")
            params.append(kind)
        if after is not None:
            where.append("seq > %s")
            params.append(after)
        with self.database.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT * FROM support_queue_items WHERE "  # noqa: S608  (fixed fragments)
                + " AND ".join(where)
                + " ORDER BY seq LIMIT %s",
                [*params, limit + 1],
            )
            rows = cursor.fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, rows[-1]["seq"] if more else None

    def get_item(self, item: str) -> dict[str, Any] | None:
        with self.database.transaction(commit=False) as cursor:
            cursor.execute("SELECT * FROM support_queue_items WHERE item_id = %s", (item,))
            return cursor.fetchone()

    def overdue_credentials(self, now: datetime) -> list[tuple[str, str]]:
        """(account_id, request_id) of credentials e-mails still unsent an hour after the ask."""
        return self.pending_credentials(now - OVERDUE_AFTER)

    def pending_credentials(self, requested_before: datetime) -> list[tuple[str, str]]:
        """(account_id, request_id) of credentials e-mails asked for before then, still unsent."""
        return self._older(
            "support_pending_credentials", ("account_id", "request_id"), "requested_at",
            requested_before,
        )

    def pending_verifications(self, requested_before: datetime) -> list[tuple[str, str]]:
        """(account_id, request_id) of e-mail changes asked for before then, no code drawn."""
        return self._older(
            "support_pending_verifications", ("account_id", "request_id"), "requested_at",
            requested_before,
        )

    def pending_mail(self, committed_before: datetime) -> list[tuple[str, str, int]]:
        """(kind, source_id, version) of the e-mails called for before then, not settled."""
        return self._older(
            "support_pending_mail", ("kind", "source_id", "version"), "committed_at",
            committed_before,
        )

    def _older(
        self, table: str, columns: tuple[str, ...], at: str, before: datetime
    ) -> list[Any]:
        """The columns of the table's rows whose instant `at` is before then, oldest first."""
        with self.database.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT {', '.join(columns)} FROM {table}"  # noqa: S608  (our own names)
                f" WHERE {at} < %s ORDER BY {at}",
                (before.isoformat(),),
            )
            return [tuple(row[c] for c in columns) for row in cursor.fetchall()]

    def all_rows(self) -> dict[str, list[dict[str, Any]]]:
        """Every row of every table, in a stable order: what `audit verify` compares."""
        with self.database.transaction(commit=False) as cursor:
            cursor.execute("SELECT * FROM support_queue_items ORDER BY seq")
            items = cursor.fetchall()
            cursor.execute("SELECT * FROM support_pending_credentials ORDER BY request_id")
            pending = cursor.fetchall()
            cursor.execute("SELECT * FROM support_pending_verifications ORDER BY request_id")
            verifications = cursor.fetchall()
            cursor.execute("SELECT * FROM support_unerased ORDER BY account_id")
            unerased = cursor.fetchall()
            cursor.execute("SELECT * FROM support_pending_mail ORDER BY kind, source_id, version")
            mail = cursor.fetchall()
        return {
            "support_queue_items": items,
            "support_pending_credentials": pending,
            "support_pending_verifications": verifications,
            "support_unerased": unerased,
            "support_pending_mail": mail,
        }

    def unerased_closures(self, closed_before: datetime) -> list[str]:
        rows = self._older("support_unerased", ("account_id",), "closed_at", closed_before)
        return [account_id for (account_id,) in rows]


def _open_item(
    kind: str, source: str, tracking: Tracking, at: datetime, summary: str,
    details: dict[str, Any], **links: str | None,
) -> Statement:
    return (
        "INSERT INTO support_queue_items (item_id, seq, kind, status, created_at, summary,"
        " registration_id, identifier, request_id, account_id, member_number, member_key,"
        " details) VALUES (%s, %s, %s, 'open', %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (item_id) DO NOTHING",
        [item_id(kind, source), tracking.notification_id, kind, at.isoformat(), summary,
         links.get("registration_id"), links.get("identifier"), links.get("request_id"),
         links.get("account_id"), links.get("member_number"), links.get("member_key"),
         json.dumps(details, ensure_ascii=False)],
    )


def _close_item(
    kind: str, source: str, at: datetime, decision: dict[str, Any] | None = None
) -> Statement:
    return (
        "UPDATE support_queue_items SET status = 'closed', closed_at = %s, decision = %s"
        " WHERE item_id = %s AND status = 'open'",
        [at.isoformat(), json.dumps(decision, ensure_ascii=False) if decision else None,
         item_id(kind, source)],
    )


def _newest_pending(table: str, event: Any) -> list[Statement]:
    """The account's one pending request of its kind is now this event's."""
    account = str(event.originator_id)
    return [
        (f"DELETE FROM {table} WHERE account_id = %s", [account]),  # noqa: S608  (our tables)
        (f"INSERT INTO {table} (request_id, account_id, requested_at)"  # noqa: S608
         " VALUES (%s, %s, %s)", [event.request_id, account, event.timestamp.isoformat()]),
    ]


def _pending_mail(event: Any) -> list[Statement]:
    """The e-mail the event calls for, if any, is pending until its outcome is recorded."""
    kind = mail_due(event)
    if kind is None:
        return []
    return [(
        "INSERT INTO support_pending_mail (kind, source_id, version, committed_at)"
        " VALUES (%s, %s, %s, %s)",
        [kind.value, str(event.originator_id), event.originator_version,
         event.timestamp.isoformat()],
    )]


def _mail_settled(kind: MailKind, event: Any, version: int | None = None) -> Statement:
    """The outcome of the source's e-mail of that kind: of the event at `version`, or of its
    only one (a registration is rejected once, a reimbursement alerted at most once)."""
    sql = "DELETE FROM support_pending_mail WHERE kind = %s AND source_id = %s"
    params: list[Any] = [kind.value, str(event.originator_id)]
    if version is not None:
        sql += " AND version = %s"
        params.append(version)
    return sql, params


def _decision(decision: str, event: Any) -> dict[str, Any]:
    return {"decision": decision, "agent": event.agent, "note": event.note}


class SupportQueue(Projection[SupportQueueView]):
    name = "support_queue"

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        # The rows an event changes and the queue's position, in one transaction; an event
        # the queue ignores changes no row, and still moves the position.
        self.view.record(
            tracking, [*self.changes(domain_event, tracking), *_pending_mail(domain_event)]
        )

    @singledispatchmethod
    def changes(self, domain_event: Any, tracking: Tracking) -> list[Statement]:
        return []

    @changes.register
    def identity_flagged(
        self, event: Enrollment.IdentityMismatchFlagged, tracking: Tracking
    ) -> list[Statement]:
        registration = str(event.originator_id)
        if is_erased(event):
            summary, details, member_number = ERASED, {}, None
        else:
            declared, directory = event.declared, event.directory
            summary = (
                f"Vérification d'identité ({event.member_number}) : « {declared['last_name']} "
                f"{declared['first_name']} » déclaré, « {directory['last_name']} "
                f"{directory['first_name']} » dans l'annuaire"
            )
            details = {"member_number": event.member_number, "declared": declared,
                       "directory": directory}
            member_number = event.member_number
        return [_open_item(
            "identity_review", registration, tracking, event.timestamp, summary, details,
            registration_id=registration, member_number=member_number,
            member_key=str(event.member_key),
        )]

    @changes.register
    def identity_approved(
        self, event: Enrollment.IdentityApproved, tracking: Tracking
    ) -> list[Statement]:
        registration = str(event.originator_id)
        return [
            _close_item(
                "identity_review", registration, event.timestamp, _decision("approve", event)
            ),
            ("UPDATE support_queue_items SET account_id = %s WHERE item_id = %s",
             [str(event.account_id), item_id("identity_review", registration)]),
        ]

    @changes.register
    def identity_rejected(
        self, event: Enrollment.IdentityRejected, tracking: Tracking
    ) -> list[Statement]:
        registration = str(event.originator_id)
        return [_close_item(
            "identity_review", registration, event.timestamp, _decision("reject", event)
        )]

    @changes.register
    def request_submitted(
        self, event: SupportRequest.SupportRequestSubmitted, tracking: Tracking
    ) -> list[Statement]:
        kind, request = event.kind, str(event.originator_id)
        account = str(event.account_id) if event.account_id else None
        member = str(event.member_key) if event.member_key else None
        if is_erased(event):
            return [_open_item(
                kind, request, tracking, event.timestamp, ERASED, {}, request_id=request,
                account_id=account, member_key=member,
            )]
        who = f"{event.first_name} {event.last_name}"
        summary = {
            "email_update": f"Changement d'adresse e-mail demandé par {who}",
            "closure": f"Demande de clôture du compte de {who}",
            "other": f"Demande de {who} : {event.message[:80]}",
        }[kind]
        details = {
            "last_name": event.last_name, "first_name": event.first_name,
            "message": event.message, "member_number": event.member_number,
            "birth_date": event.birth_date.isoformat() if event.birth_date else None,
            "identifier": event.identifier, "email": event.email, "new_email": event.new_email,
            "account_found": event.account_id is not None,
        }
        return [_open_item(
            kind, request, tracking, event.timestamp, summary, details, request_id=request,
            identifier=event.identifier, member_number=event.member_number, account_id=account,
            member_key=member,
        )]

    @changes.register
    def request_accepted(
        self, event: SupportRequest.SupportRequestAccepted, tracking: Tracking
    ) -> list[Statement]:
        return self._close_request(event, "accept")

    @changes.register
    def request_rejected(
        self, event: SupportRequest.SupportRequestRejected, tracking: Tracking
    ) -> list[Statement]:
        return self._close_request(event, "reject")

    @staticmethod
    def _close_request(event: Any, decision: str) -> list[Statement]:
        request = str(event.originator_id)
        return [
            _close_item(kind, request, event.timestamp, _decision(decision, event))
            for kind in ("email_update", "closure", "other")
        ]

    @changes.register
    def credentials_requested(
        self, event: Account.CredentialsRequested, tracking: Tracking
    ) -> list[Statement]:
        # A newer request supersedes older unsent ones: only the newest can become overdue.
        return _newest_pending("support_pending_credentials", event)

    @changes.register
    def credentials_sent(
        self, event: Account.CredentialsEmailSent, tracking: Tracking
    ) -> list[Statement]:
        account = str(event.originator_id)
        return [
            ("DELETE FROM support_pending_credentials WHERE request_id = %s", [event.request_id]),
            ("UPDATE support_queue_items SET status = 'closed', closed_at = %s"
             " WHERE kind = 'undelivered_email' AND account_id = %s AND status = 'open'",
             [event.timestamp.isoformat(), account]),
        ]

    @changes.register
    def credentials_overdue(
        self, event: Account.CredentialsEmailOverdue, tracking: Tracking
    ) -> list[Statement]:
        account = str(event.originator_id)
        summary = (
            f"E-mail des codes d'accès non remis une heure après la demande "
            f"(identifiant {event.identifier})"
        )
        details = {"identifier": event.identifier, "request_id": event.request_id}
        return [
            ("DELETE FROM support_pending_credentials WHERE request_id = %s", [event.request_id]),
            _open_item("undelivered_email", event.request_id, tracking, event.timestamp, summary,
                       details, identifier=event.identifier, account_id=account),
        ]

    @changes.register
    def email_change_requested(
        self, event: Account.EmailChangeRequested, tracking: Tracking
    ) -> list[Statement]:
        # A newer change replaces the older one: only its code is still to be drawn.
        return _newest_pending("support_pending_verifications", event)

    @changes.register
    def email_verification_issued(
        self, event: Account.EmailVerificationIssued, tracking: Tracking
    ) -> list[Statement]:
        return [(
            "DELETE FROM support_pending_verifications WHERE request_id = %s", [event.request_id]
        )]

    @changes.register
    def email_changed(
        self, event: Account.EmailChanged, tracking: Tracking
    ) -> list[Statement]:
        return [(
            "DELETE FROM support_pending_verifications WHERE account_id = %s",
            [str(event.originator_id)],
        )]

    @changes.register
    def account_closed(
        self, event: Account.AccountClosed, tracking: Tracking
    ) -> list[Statement]:
        account = str(event.originator_id)
        return [
            ("DELETE FROM support_pending_credentials WHERE account_id = %s", [account]),
            ("DELETE FROM support_pending_verifications WHERE account_id = %s", [account]),
            ("INSERT INTO support_unerased (account_id, closed_at) VALUES (%s, %s)",
             [account, event.timestamp.isoformat()]),
        ]

    @changes.register
    def personal_data_erased(
        self, event: Account.PersonalDataErased, tracking: Tracking
    ) -> list[Statement]:
        # The queue keeps the matter, not the person: every item about the account or its
        # member (a rejected review, a request made before the account existed) loses its
        # personal data. Matched by pseudonymous keys, so a replay of the erased events,
        # which cannot read the member number, erases exactly the same items.
        account = str(event.originator_id)
        return [
            ("UPDATE support_queue_items SET summary = %s, details = %s, identifier = NULL,"
             " decision = NULL, member_number = NULL WHERE account_id = %s OR member_key = %s",
             [ERASED, "{}", account, str(event.member_key)]),
            ("DELETE FROM support_unerased WHERE account_id = %s", [account]),
        ]

    # The outcomes that settle pending mail (what calls for it: domain/mail.py).

    @changes.register
    def notice_sent(self, event: Account.NoticeSent, tracking: Tracking) -> list[Statement]:
        return [_mail_settled(MailKind.NOTICE, event, event.about_version)]

    @changes.register
    def rejection_email_sent(
        self, event: Enrollment.RejectionEmailSent, tracking: Tracking
    ) -> list[Statement]:
        return [_mail_settled(MailKind.REJECTION, event)]

    @changes.register
    def alert_sent(
        self, event: Reimbursement.ReimbursementAlertSent, tracking: Tracking
    ) -> list[Statement]:
        return [_mail_settled(MailKind.REIMBURSEMENT_ALERT, event)]

    @changes.register
    def alert_skipped(
        self, event: Reimbursement.ReimbursementAlertSkipped, tracking: Tracking
    ) -> list[Statement]:
        return [_mail_settled(MailKind.REIMBURSEMENT_ALERT, event)]


def item_view(row: dict[str, Any]) -> dict[str, Any]:
    """An item as the API shows it in the queue listing."""
    item = {
        "item_id": row["item_id"], "kind": row["kind"], "status": row["status"],
        "created_at": row["created_at"], "summary": row["summary"],
    }
    for link in ("registration_id", "identifier", "request_id"):
        if row.get(link):
            item[link] = row[link]
    return item
