"""A read model's rows and its tracking record, written in one transaction.

Tracking is the library's TrackingRecorder (SQLite or PostgreSQL); the rows are ours, written
through the same datastore so both land in the same database transaction.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import (
    InterfaceError,
    OperationalError,
    Tracking,
    TrackingRecorder,
)
from eventsourcing.utils import retry

if TYPE_CHECKING:
    # The database is handed in by the composition root; a read model never opens one.
    from adapters.database import Cursor, Database

Statement = tuple[str, Sequence[Any]]


class View:
    # A read model's shape and what its projection makes of the events: a change to either
    # moves the version up, and the upgrade rebuilds it beside the live one (versions.py).
    version: int = 1
    tables: Sequence[str] = ()
    table_names: Sequence[str] = ()
    retired_tables: Sequence[str] = ()  # an older version's tables that this one dropped

    def __init__(self, database: Database, tracking: TrackingRecorder, suffix: str = ""):
        self.database = database
        self.tracking = tracking
        self._batch = threading.local()
        # Beside the live tables (suffix "_v<N>"), the same statements name this version's.
        self.suffix = suffix
        self._names = re.compile(
            r"\b(" + "|".join(map(re.escape, self.table_names)) + r")\b"
        ) if suffix and self.table_names else None
        self._renamed: dict[str, str] = {}

    def beside(self, version: int) -> View:
        """This view's tables for `version`, built beside the live ones."""
        view = type(self)(self.database, self.tracking, suffix=f"_v{version}")
        view.version = version
        return view

    def ddl(self) -> list[str]:
        """The statements that create this view's tables (and indexes, named apart)."""
        if self._names is None:
            return list(self.tables)
        return [
            re.sub(r"(CREATE (?:UNIQUE )?INDEX (?:IF NOT EXISTS )?)(\w+)",
                   rf"\g<1>\g<2>{self.suffix}", self._named(statement))
            for statement in self.tables
        ]

    def create_tables(self) -> None:
        self.database.create_tables(self.ddl())

    def _named(self, sql: str) -> str:
        if self._names is None:
            return sql
        renamed = self._renamed.get(sql)
        if renamed is None:
            renamed = self._renamed[sql] = self._names.sub(rf"\g<1>{self.suffix}", sql)
        return renamed

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
            cursor.execute_all([(self._named(sql), params) for sql, params in statements])
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


def positions(views: Iterable[tuple[View, str]]) -> dict[str, int]:
    """The tracking position of each (view, name), 0 for none yet: one statement for the names
    that share a tracking table (the live read models all do), where the library's
    max_tracking_id is a round trip each. The runner asks at every look, and /metrics at
    every scrape, for the four read models' positions."""
    tables: dict[int, tuple[View, list[str]]] = {}
    for view, name in views:
        tables.setdefault(id(view.tracking), (view, []))[1].append(name)
    found: dict[str, int] = {}
    for view, names in tables.values():
        found.update(_positions_in(view, names))
    return found


# As the library's max_tracking_id: a dropped connection is tried again, not a failed look.
@retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
def _positions_in(view: View, names: list[str]) -> dict[str, int]:
    marks = ", ".join(["%s"] * len(names))
    rows = view.database.read(
        "SELECT application_name, MAX(notification_id) AS position"  # noqa: S608
        f" FROM {tracking_table(view.tracking)} WHERE application_name IN ({marks})"
        " GROUP BY application_name",
        names,
    )
    held = {row["application_name"]: row["position"] for row in rows}
    return {name: held.get(name) or 0 for name in names}


def tracking_table(tracking: TrackingRecorder) -> str:
    return getattr(tracking, "tracking_table_name", "tracking")


def forget_tracking(cursor: Cursor, tracking: TrackingRecorder, name: str) -> None:
    table = tracking_table(tracking)
    cursor.execute(f"DELETE FROM {table} WHERE application_name = %s", (name,))  # noqa: S608
