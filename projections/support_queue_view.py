"""The support queue's read model and its queries: the console's and the API's pages of items,
the scheduled checks' and the reconciler's pending work, and every row for `audit verify`.

Also the forms the API shows it in: the page cursor and an item of the listing.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from eventsourcing.persistence import Tracking

from projections.support_queue_flow import expanded, open_counts, queue_history
from projections.support_queue_tables import TABLE_NAMES, TABLES, VERSION
from projections.view import Statement, View

OVERDUE_AFTER = timedelta(hours=1)


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
    version = VERSION
    tables = TABLES
    table_names = TABLE_NAMES

    def record(self, tracking: Tracking, statements: Sequence[Statement] = ()) -> None:
        # An item's statement brings the flow's bookkeeping along (support_queue_flow.py).
        super().record(tracking, expanded(statements))

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

    def open_counts(self) -> dict[str, int]:
        """The number of open items of each kind that has any (the console's tabs)."""
        return open_counts(self.database)

    def history(self, now: datetime, days: int = 30) -> dict[str, list[dict[str, Any]]]:
        """Each kind's open items and the age of the oldest at the end of each of the last
        `days` days in Paris (the console's chart; support_queue_flow.py)."""
        return queue_history(self.database, now, days)

    def open_items_of_account(self, account_id: str, limit: int) -> list[dict[str, Any]]:
        """The account's open items, oldest first (the console's account page)."""
        with self.database.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT * FROM support_queue_items WHERE account_id = %s AND status = 'open'"
                " ORDER BY seq LIMIT %s",
                (account_id, limit),
            )
            return cursor.fetchall()

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
            cursor.execute("SELECT * FROM support_queue_flow WHERE n > 0"
                           " ORDER BY kind, opened, closed")
            flow = cursor.fetchall()
            cursor.execute("SELECT * FROM support_queue_hours ORDER BY hour")
            hours = cursor.fetchall()
        return {
            "support_queue_items": items,
            "support_pending_credentials": pending,
            "support_pending_verifications": verifications,
            "support_unerased": unerased,
            "support_pending_mail": mail,
            "support_queue_flow": flow,
            "support_queue_hours": hours,
        }

    def unerased_closures(self, closed_before: datetime) -> list[str]:
        rows = self._older("support_unerased", ("account_id",), "closed_at", closed_before)
        return [account_id for (account_id,) in rows]


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
