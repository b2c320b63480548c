"""The library's application recorders, writing a save's new keys and stream links
(adapters/keyring.py NewKeys) in the same transaction as its events. Chosen by the library's
own APPLICATION_RECORDER_TOPIC setting (adapters/database.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError, StoredEvent
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
            if new_keys.sealed_with:
                # Before the insert locks the events table: a read of a few rows (a sync of
                # the pipeline), made only by the saves that seal personal data.
                curs.execute(*new_keys.keys_still_there())
                _check_found(curs.fetchall(), new_keys)
        super()._insert_events(curs, stored_events, **kwargs)


class SQLiteRecorder(SQLiteApplicationRecorder):
    def _insert_events(
        self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        new_keys: NewKeys | None = kwargs.pop("new_keys", None)
        if new_keys:
            for sql, params in new_keys.statements():
                c.execute(sql.replace("%s", "?"), params)
        inserted = super()._insert_events(c, stored_events, **kwargs)
        if new_keys and new_keys.sealed_with:
            # After the insert: the transaction holds the database's write lock from its first
            # write, so this read sees every erasure committed before it, and none can
            # commit before it ends. (SQLite has no FOR SHARE: the lock is the database's.)
            sql, params = new_keys.keys_still_there(lock=False)
            c.execute(sql.replace("%s", "?"), params)
            _check_found(c.fetchall(), new_keys)
        return inserted


def _check_found(rows: Sequence[Any], new_keys: NewKeys) -> None:
    if len(rows) < len(new_keys.sealed_with):
        # The library's error for a save that lost a race: the use case is run again.
        raise IntegrityError("a key this save sealed with was destroyed before it committed")
