"""A read model's rows and its tracking record, written in one transaction.

Tracking is the library's TrackingRecorder (SQLite or PostgreSQL); the rows are ours, written
through the same datastore so both land in the same database transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import Tracking, TrackingRecorder

if TYPE_CHECKING:
    # The database is handed in by the composition root; a read model never opens one.
    from adapters.database import Cursor, Database

Statement = tuple[str, Sequence[Any]]


class View:
    tables: Sequence[str] = ()
    table_names: Sequence[str] = ()

    def __init__(self, database: Database, tracking: TrackingRecorder):
        self.database = database
        self.tracking = tracking
        self._batch = threading.local()

    def create_tables(self) -> None:
        self.database.create_tables(self.tables)

    def record(self, tracking: Tracking, statements: Sequence[Statement] = ()) -> None:
        """Apply the statements and advance the tracking position, all or nothing; within
        batch(), at the batch's end, with the rest of it."""
        pending = getattr(self._batch, "statements", None)
        if pending is None:
            self._write(statements, [tracking])
            return
        pending.extend(statements)
        positions = self._batch.positions  # the first and the latest
        positions[min(1, len(positions)):] = [tracking]

    @contextmanager
    def batch(self) -> Iterator[None]:
        """The events recorded within it are applied in one transaction: a transaction per
        event held a rebuild to a tenth of the rate the log is read at (bench/run.py)."""
        self._batch.statements, self._batch.positions = [], []
        try:
            yield
            if self._batch.positions:
                self._write(self._batch.statements, self._batch.positions)
        finally:
            self._batch.statements = self._batch.positions = None

    def _write(self, statements: Sequence[Statement], positions: Sequence[Tracking]) -> None:
        """The first event's position is recorded before the rows, the last one's after: the
        first fails (IntegrityError) when another runner has recorded it already, and holds
        the tracking row until commit, so overlapping batches never both apply."""
        with self.database.transaction() as cursor:
            self.tracking._insert_tracking(cursor.raw, positions[0])
            cursor.execute_all(statements)
            if len(positions) > 1:
                self.tracking._insert_tracking(cursor.raw, positions[-1])

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
