"""A read model's rows and its tracking record, written in one transaction.

Tracking is the library's TrackingRecorder (SQLite or PostgreSQL); the rows are ours, written
through the same datastore so both land in the same database transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Tracking, TrackingRecorder

from adapters.database import Cursor, Database

Statement = tuple[str, Sequence[Any]]


class View:
    tables: Sequence[str] = ()
    table_names: Sequence[str] = ()

    def __init__(self, database: Database, tracking: TrackingRecorder):
        self.database = database
        self.tracking = tracking

    def create_tables(self) -> None:
        self.database.create_tables(self.tables)

    def record(self, tracking: Tracking, statements: Sequence[Statement] = ()) -> None:
        """Apply the statements and advance the tracking position, all or nothing."""
        with self.database.transaction() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
            self.tracking._insert_tracking(cursor.raw, tracking)

    def max_tracking_id(self, name: str) -> int | None:
        return self.tracking.max_tracking_id(name)

    def wait(self, name: str, notification_id: int | None, timeout: float = 5.0) -> None:
        self.tracking.wait(name, notification_id, timeout=timeout)

    def clear(self, name: str) -> None:
        """Empty the read model and forget its position: the next catch-up rebuilds it."""
        with self.database.transaction() as cursor:
            for table in self.table_names:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608  (our own table names)
            forget_tracking(cursor, self.tracking, name)


def forget_tracking(cursor: Cursor, tracking: TrackingRecorder, name: str) -> None:
    table = getattr(tracking, "tracking_table_name", "tracking")
    cursor.execute(f"DELETE FROM {table} WHERE application_name = %s", (name,))  # noqa: S608
