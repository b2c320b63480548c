"""The queue's flow: how many items of each kind opened on each day, and on which day they
closed (none while open); days in Paris, as the console shows them. It is what the console
counts and charts from, in a few hundred rows however many items there are: counting or
charting the items themselves read every open one, and with 100,000 of them the queue's first
page took 16 times as long as with 100 (bench/console_queue.py); a flow by the hour still
held 11,000 rows there and took 15 ms to chart.

Kept by the statements that open and close an item (support_queue_tables.py): each carries
the flow's bookkeeping, which the view runs just before it (SupportQueueView.record), so the
flow moves exactly when the item does. An item's day is found again when it closes through
support_queue_hours, the Paris day of each UTC hour an item opened in: the SQL of SQLite and
of PostgreSQL share no way of telling a time zone's day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from projections.view import Statement

if TYPE_CHECKING:
    from adapters.database import Database

# The kinds a person decides: an undelivered e-mail closes itself when a later one is
# delivered (in bulk, by account), and is counted from its items (few at any time).
FLOW_KINDS = ("identity_review", "email_update", "closure", "other")
PARIS = ZoneInfo("Europe/Paris")
ONE_DAY = timedelta(days=1)

FLOW_TABLES = (
    """CREATE TABLE IF NOT EXISTS support_queue_flow (
            kind TEXT NOT NULL,
            opened TEXT NOT NULL,
            closed TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (kind, opened, closed)
        )""",
    """CREATE TABLE IF NOT EXISTS support_queue_hours (
            hour TEXT PRIMARY KEY,
            day TEXT NOT NULL
        )""",
)
FLOW_TABLE_NAMES = ("support_queue_flow", "support_queue_hours")

_HOUR = "INSERT INTO support_queue_hours (hour, day) VALUES (%s, %s) ON CONFLICT (hour) DO NOTHING"
_OPENED = (
    "INSERT INTO support_queue_flow (kind, opened, closed, n) SELECT %s, %s, '', 1"
    " WHERE NOT EXISTS (SELECT 1 FROM support_queue_items WHERE item_id = %s)"
    " ON CONFLICT (kind, opened, closed) DO UPDATE SET n = support_queue_flow.n + 1"
)
_LEFT_OPEN = (
    "UPDATE support_queue_flow SET n = n - 1 WHERE kind = %s AND closed = '' AND opened ="
    " (SELECT h.day FROM support_queue_items i JOIN support_queue_hours h"
    " ON h.hour = substr(i.created_at, 1, 13) WHERE i.item_id = %s AND i.status = 'open')"
)
_CLOSED = (
    "INSERT INTO support_queue_flow (kind, opened, closed, n)"
    " SELECT i.kind, h.day, %s, 1 FROM support_queue_items i JOIN support_queue_hours h"
    " ON h.hour = substr(i.created_at, 1, 13) WHERE i.item_id = %s AND i.status = 'open'"
    " ON CONFLICT (kind, opened, closed) DO UPDATE SET n = support_queue_flow.n + 1"
)


class WithFlow(tuple):
    """An item's (sql, params) statement, with the flow's statements to run just before it:
    they look at the item as it was, so they count only what the statement changes."""

    flow: Sequence[Statement]


def with_flow(statement: Statement, flow: Sequence[Statement]) -> Statement:
    carried = WithFlow(statement)
    carried.flow = flow
    return carried


def expanded(statements: Sequence[Statement]) -> list[Statement]:
    return [s for statement in statements
            for s in (*getattr(statement, "flow", ()), statement)]


def hour(at: datetime) -> str:
    """The hour as SQL cuts the item's stored instant (`YYYY-MM-DDTHH`, UTC as events are)."""
    return at.isoformat()[:13]


def day(at: datetime) -> str:
    return at.astimezone(PARIS).date().isoformat()


def opening(kind: str, item: str, at: datetime) -> list[Statement]:
    """The item opens on that day, unless it exists already (its insert does nothing)."""
    if kind not in FLOW_KINDS:
        return []
    return [(_HOUR, [hour(at), day(at)]), (_OPENED, [kind, day(at), item])]


def closing(kind: str, item: str, at: datetime) -> list[Statement]:
    """The item, if open, moves from the open to those closed on that day."""
    if kind not in FLOW_KINDS:
        return []
    return [(_LEFT_OPEN, [kind, item]), (_CLOSED, [day(at), item])]


def flow_from_items(database: Database) -> None:
    """The flow as the items make it: what a rebuild ends with, and what a bench that writes
    items straight into their table derives it from. Replaces the flow there is."""
    rows = database.run(
        "SELECT kind, created_at, closed_at FROM support_queue_items"
        " WHERE kind IN ('identity_review', 'email_update', 'closure', 'other')"
    )
    flow: dict[tuple[str, str, str], int] = defaultdict(int)
    hours = {}
    for row in rows:
        opened = datetime.fromisoformat(row["created_at"])
        closed = datetime.fromisoformat(row["closed_at"]) if row["closed_at"] else None
        hours[hour(opened)] = day(opened)
        flow[row["kind"], day(opened), day(closed) if closed else ""] += 1
    with database.transaction() as cursor:
        cursor.execute("DELETE FROM support_queue_flow")
        cursor.execute("DELETE FROM support_queue_hours")
        cursor.execute_all([(_HOUR, pair) for pair in hours.items()])
        cursor.execute_all([
            ("INSERT INTO support_queue_flow (kind, opened, closed, n) VALUES (%s, %s, %s, %s)",
             [*key, n]) for key, n in flow.items()
        ])


def open_counts(database: Database) -> dict[str, int]:
    """The number of open items of each kind that has any (the console's tabs)."""
    rows = database.run(
        "SELECT kind, SUM(n) AS n FROM support_queue_flow WHERE closed = '' AND n > 0"
        " GROUP BY kind"
        " UNION ALL SELECT kind, COUNT(*) FROM support_queue_items"
        " WHERE kind = 'undelivered_email' AND status = 'open' GROUP BY kind"
    )
    return {row["kind"]: int(row["n"]) for row in rows if row["n"]}


def queue_history(
    database: Database, now: datetime, days: int = 30
) -> dict[str, list[dict[str, Any]]]:
    """For each kind, each of the last `days` days in Paris up to today, oldest first: the
    day, how many items were open at its end (now, for today), and how many days the oldest
    of them had waited since the day it came (None when none was open). One query, over the
    flow's rows of the items open on one of those days."""
    today = now.astimezone(PARIS).date()
    window = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    rows = database.run(
        "SELECT kind, opened, closed, n FROM support_queue_flow"
        " WHERE n > 0 AND (closed = '' OR closed > %s)",
        [window[0].isoformat()],
    )
    first = window[0]
    history: dict[str, list[dict[str, Any]]] = {}
    for kind in FLOW_KINDS:
        # Sorted by the day they came: the first row still open at a day's end is its oldest.
        mine = sorted((date.fromisoformat(r["opened"]),
                       date.fromisoformat(r["closed"]) if r["closed"] else today + ONE_DAY,
                       int(r["n"])) for r in rows if r["kind"] == kind)
        # Open at a day's end: come by then, and not closed that day or before. Each row adds
        # its n from the day it came (or the first) to the day before it closed.
        change = [0] * (days + 1)
        for opened, closed, n in mine:
            change[max(0, (opened - first).days)] += n
            change[(closed - first).days] -= n
        history[kind], waiting = [], 0
        for index, end in enumerate(window):
            waiting += change[index]
            oldest = next((opened for opened, closed, _ in mine
                           if opened <= end < closed), None)
            history[kind].append({
                "day": end, "open": waiting,
                "oldest_days": None if oldest is None else (end - oldest).days,
            })
    return history
