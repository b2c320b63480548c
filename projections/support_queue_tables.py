"""The support queue's tables, and the statements its projection writes to them.

The queue's items, and the pending work the scheduled checks and the reconciler look for:
credentials e-mails not sent yet, e-mail changes without a code, closed accounts not erased
yet, e-mails whose outcome is not recorded. The queries over them: support_queue_view.py.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import uuid5

from eventsourcing.persistence import Tracking

from domain.indexes import NAMESPACE
from domain.mail import MailKind, mail_due
from projections.support_queue_flow import (
    FLOW_TABLE_NAMES,
    FLOW_TABLES,
    closing,
    opening,
    with_flow,
)
from projections.view import Statement

# Version 2 adds the items' `reason` column: the decision's reason code, which names no one
# and so outlives the erasure that empties `decision` (domain/decision_reasons.py); and the
# flow, which the console counts and charts from (support_queue_flow.py); and the e-mails to
# someone who wrote to support, pending until sent like the others (the reconciler's).
VERSION = 2
KINDS = ("identity_review", "undelivered_email", "email_update", "closure", "other")
ERASED = "(données personnelles effacées)"

# Indented as they were inside the view class: SQLite keeps each statement's text as the
# schema, and the same text keeps a new database's schema the same as the existing ones'.
TABLES = (
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
            decision TEXT,
            reason TEXT
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
    # Notices, rejection e-mails, reimbursement alerts and the e-mails to someone who wrote
    # to support, whose outcome is not recorded yet (the reconciler's): the source is the
    # account, registration, reimbursement or request, the version that of its event the
    # e-mail is about.
    """CREATE TABLE IF NOT EXISTS support_pending_mail (
            kind TEXT NOT NULL,
            source_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            committed_at TEXT NOT NULL,
            PRIMARY KEY (kind, source_id, version)
        )""",
    *FLOW_TABLES,
)
TABLE_NAMES = (
    "support_queue_items", "support_pending_credentials", "support_pending_verifications",
    "support_unerased", "support_pending_mail", *FLOW_TABLE_NAMES,
)


def item_id(kind: str, source: str) -> str:
    """Deterministic, so a rebuild from zero gives every item the same id."""
    return str(uuid5(NAMESPACE, f"support-item:{kind}:{source}"))


def open_item(
    kind: str, source: str, tracking: Tracking, at: datetime, summary: str,
    details: dict[str, Any], **links: str | None,
) -> Statement:
    item = item_id(kind, source)
    return with_flow((
        "INSERT INTO support_queue_items (item_id, seq, kind, status, created_at, summary,"
        " registration_id, identifier, request_id, account_id, member_number, member_key,"
        " details) VALUES (%s, %s, %s, 'open', %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (item_id) DO NOTHING",
        [item, tracking.notification_id, kind, at.isoformat(), summary,
         links.get("registration_id"), links.get("identifier"), links.get("request_id"),
         links.get("account_id"), links.get("member_number"), links.get("member_key"),
         json.dumps(details, ensure_ascii=False)],
    ), opening(kind, item, at))


def close_item(
    kind: str, source: str, at: datetime, decision: dict[str, Any] | None = None,
    reason: str | None = None,
) -> Statement:
    item = item_id(kind, source)
    return with_flow((
        "UPDATE support_queue_items SET status = 'closed', closed_at = %s, decision = %s,"
        " reason = %s WHERE item_id = %s AND status = 'open'",
        [at.isoformat(), json.dumps(decision, ensure_ascii=False) if decision else None,
         reason, item],
    ), closing(kind, item, at))


def newest_pending(table: str, event: Any) -> list[Statement]:
    """The account's one pending request of its kind is now this event's."""
    account = str(event.originator_id)
    return [
        (f"DELETE FROM {table} WHERE account_id = %s", [account]),  # noqa: S608  (our tables)
        (f"INSERT INTO {table} (request_id, account_id, requested_at)"  # noqa: S608
         " VALUES (%s, %s, %s)", [event.request_id, account, event.timestamp.isoformat()]),
    ]


def mail_pending(event: Any) -> list[Statement]:
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


def mail_settled(kind: MailKind, event: Any, version: int | None = None) -> Statement:
    """The outcome of the source's e-mail of that kind: of the event at `version`, or of its
    only one (a registration is rejected once, a reimbursement alerted at most once)."""
    sql = "DELETE FROM support_pending_mail WHERE kind = %s AND source_id = %s"
    params: list[Any] = [kind.value, str(event.originator_id)]
    if version is not None:
        sql += " AND version = %s"
        params.append(version)
    return sql, params
