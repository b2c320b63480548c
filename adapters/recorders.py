"""The library's application recorders, writing a save's new keys and stream links
(adapters/keyring.py NewKeys) in the same transaction as its events. Chosen by the library's
own APPLICATION_RECORDER_TOPIC setting (adapters/database.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

from adapters.keyring import NewKeys


class PostgresRecorder(PostgresApplicationRecorder):
    def _insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        # The library's hook for statements in the events' transaction (its tracking recorder
        # uses it): pipelined with the insert that follows, which locks the table so that
        # notification ids commit in order.
        new_keys: NewKeys | None = kwargs.pop("new_keys", None)
        if new_keys:
            for sql, params in new_keys.statements():
                curs.execute(sql, params)
        super()._insert_events(curs, stored_events, **kwargs)


class SQLiteRecorder(SQLiteApplicationRecorder):
    def _insert_events(
        self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        new_keys: NewKeys | None = kwargs.pop("new_keys", None)
        if new_keys:
            for sql, params in new_keys.statements():
                c.execute(sql.replace("%s", "?"), params)
        return super()._insert_events(c, stored_events, **kwargs)
