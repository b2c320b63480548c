"""The library's application recorders, writing a save's new keys and stream links
(adapters/keyring.py NewKeys) in the same transaction as its events. Chosen by the library's
own APPLICATION_RECORDER_TOPIC setting (adapters/database.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import retry
from psycopg.pq import TransactionStatus
from psycopg.sql import SQL, Composed

from adapters.keyring import NewKeys

INTRANS, INERROR = TransactionStatus.INTRANS, TransactionStatus.INERROR


class PostgresRecorder(PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # The library's insert, its array of stored events sent in binary (%b): psycopg dumps
        # a list of composites as text by default, each state's bytes escaped in Python (200
        # µs for a registration's seven events against 25 in binary, and PostgreSQL parses
        # the text back).
        self.insert_events_statement = binary_parameters(self.insert_events_statement)

    # The library's own retry of the store's blips, around the library's own insert.
    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        try:
            return self._insert_in_one_transaction(stored_events, **kwargs)
        except OperationalError as error:
            # The statement's own error is raised when there is one (_insert_in_one_transaction);
            # a PipelineAborted alone, which the library maps to OperationalError (retried ten
            # times 0.2 s apart, then a 503), still means a failed statement, never a lost
            # server (that is a connection error): a lost race, for the use case to retry from
            # a fresh load.
            if isinstance(error.__cause__, psycopg.errors.PipelineAborted):
                raise IntegrityError(str(error)) from error
            raise

    def _insert_in_one_transaction(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's insert_events (eventsourcing 9.5.6, without its database function) in
        one round trip to PostgreSQL: BEGIN, the statements and COMMIT sent together, then one
        Sync, at the pipeline's end. The library's `conn.transaction()` inside `conn.pipeline()`
        made five (psycopg syncs after BEGIN, at its own sync, at each of its nested pipelines'
        ends and after COMMIT), and the events table, locked from the LOCK statement to COMMIT,
        stayed locked across three of them, each waiting for its saver to be scheduled again
        on a busy machine, while every other save waited for the lock.

        A failed statement aborts the rest, COMMIT included, and its own error is raised once
        the pipeline has ended (a lost race: IntegrityError, as the library's sync made it,
        never the PipelineAborted of the statements skipped after it); the transaction is
        rolled back by psycopg's rollback(), which also forgets the statements it counted as
        prepared when it sent them. The library caught the failure inside its transaction,
        which then ended by COMMIT (PostgreSQL's ROLLBACK of a failed transaction, unseen by
        psycopg): statements that the aborted pipeline never prepared stayed named on the
        connection, and every later save it served failed with 'prepared statement "_pg3_6"
        does not exist' (tests/integration/test_recorder_conflicts.py). The error is raised
        once the pipeline has ended, as the library does, so psycopg does not warn of a
        pipeline left in error."""
        error: Exception | None = None
        notification_ids: Sequence[int] | None = None
        with self.datastore.get_connection() as conn:
            inserted = conn.cursor()
            try:
                try:
                    with conn.pipeline():
                        try:
                            conn.execute("BEGIN", prepare=False)
                            with conn.cursor() as curs:
                                self._insert_events(curs, stored_events, **kwargs)
                            if stored_events:
                                self._insert_stored_events(inserted, stored_events, **kwargs)
                            conn.execute("COMMIT", prepare=False)
                        except Exception as failed:  # raised below, once the pipeline has ended
                            error = failed
                except psycopg.errors.PipelineAborted:
                    # psycopg reads results while it sends, so a statement's own error is
                    # usually raised above, and the pipeline's end then reports the statements
                    # PostgreSQL skipped after it: the statement's error is the one to raise.
                    if error is None:
                        raise
                # The pipeline's end sent the one Sync and took every result back.
                if error is None and stored_events:
                    notification_ids = self._fetch_ids_after_insert_events(
                        inserted, stored_events, **kwargs
                    )
            finally:
                inserted.close()
                if conn.pgconn.transaction_status in (INTRANS, INERROR):
                    with contextlib.suppress(psycopg.Error):  # a broken one is discarded
                        conn.rollback()
            if error:
                raise error
        return notification_ids

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


def binary_parameters(statement: Composed) -> Composed:
    """The statement with its parameters sent in binary (%b for %s)."""
    return Composed([
        SQL(part.as_string().replace("%s", "%b")) if isinstance(part, SQL) else part
        for part in statement
    ])


def _check_found(rows: Sequence[Any], new_keys: NewKeys) -> None:
    if len(rows) < len(new_keys.sealed_with):
        # The library's error for a save that lost a race: the use case is run again.
        raise IntegrityError("a key this save sealed with was destroyed before it committed")
