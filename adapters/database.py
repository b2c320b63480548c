"""Our own tables (directory, tokens) in the event store's database, through its connection pool.

The event store's datastore already owns a pool for SQLite or PostgreSQL; reusing it keeps one
pool per process and gives the same error types (eventsourcing.persistence.*) on both engines.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import groupby
from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from adapters.idle_socket import has_spoken
from adapters.settings import Settings

# pg_advisory_lock keys: one around start-up's table creation, one inside create_tables.
SCHEMA_LOCK, TABLES_LOCK = 0x61636375, 0x61636374


def eventsourcing_env(settings: Settings) -> dict[str, str]:
    """The library's own configuration keys, from our settings."""
    db = settings.database
    if db.kind == "sqlite":
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(db.path),
            "SQLITE_LOCK_TIMEOUT": "10",
            "APPLICATION_RECORDER_TOPIC": "adapters.recorders:SQLiteRecorder",
        }
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": db.dbname,
        "POSTGRES_HOST": db.host,
        "POSTGRES_PORT": str(db.port),
        "POSTGRES_USER": db.user,
        "POSTGRES_PASSWORD": db.password,
        "POSTGRES_CONNECT_TIMEOUT": "5",
        # Fail fast (503) rather than queue behind an exhausted pool or a dead server.
        "POSTGRES_MAX_WAITING": "64",
        "POSTGRES_PRE_PING": "y",  # then made cheap: see lent_connection_check
        # Not the library's insert function: it takes no table lock, so concurrent saves can
        # commit notification ids out of order, and a projection reading on from its position
        # skips the late one for good. The default path locks the table for each insert.
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        "POSTGRES_LOCK_TIMEOUT": "5",
        "APPLICATION_RECORDER_TOPIC": "adapters.recorders:PostgresRecorder",
        # Every stream id is a UUID, and the recorder sends them in binary: an operator's
        # ORIGINATOR_ID_TYPE=text in the environment would otherwise fail every save.
        "ORIGINATOR_ID_TYPE": "uuid",
    }


class Cursor:
    """A cursor that takes %s placeholders on both engines and returns rows as dicts."""

    def __init__(self, raw: Any, paramstyle_qmark: bool):
        self.raw = raw  # the driver's cursor, for the library's own statements
        self._qmark = paramstyle_qmark

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        if self._qmark:
            sql = sql.replace("%s", "?")
        self.raw.execute(sql, tuple(params))

    def execute_all(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Many statements in order; runs of the same statement go as one executemany (a
        rebuild writes thousands of the same insert: each driver then prepares it once), and
        on PostgreSQL all of them pipelined, without a round trip each."""
        runs = [(sql, [tuple(params) for _, params in run])
                for sql, run in groupby(statements, key=lambda statement: statement[0])]
        if self._qmark:
            for sql, rows in runs:
                self.raw.executemany(sql.replace("%s", "?"), rows)
            return
        with self.raw.connection.pipeline():
            for sql, rows in runs:
                if len(rows) == 1:
                    self.raw.execute(sql, rows[0])
                else:
                    self.raw.executemany(sql, rows)

    def fetchall(self) -> list[dict[str, Any]]:
        rows = self.raw.fetchall()
        # psycopg's rows are dicts already (the pool's dict_row); sqlite3's are not.
        return [dict(row) for row in rows] if self._qmark else rows

    def fetchone(self) -> dict[str, Any] | None:
        row = self.raw.fetchone()
        return None if row is None else dict(row)


def lent_connection_check(connection: psycopg.Connection[Any]) -> None:
    """The pool's check of an idle connection before it lends it, in place of the library's
    pre-ping (an empty query: one round trip each time, half of a signed-in page's round
    trips, issue 17's bench). A backend that PostgreSQL ends (a restart, pg_terminate_backend,
    idle_session_timeout) sends its FATAL message and closes the socket, which then reads
    as ready: only then is the round trip made, and it fails, so the pool drops that
    connection and lends another. An idle pool connection receives nothing otherwise (no
    LISTEN on them)."""
    if connection.closed:
        raise psycopg.OperationalError("the connection is closed")
    if has_spoken(connection.fileno()):
        ConnectionPool.check_connection(connection)


class Database:
    def __init__(self, datastore: Any):
        self.datastore = datastore
        self.kind = "sqlite" if type(self.datastore).__name__.startswith("SQLite") else "postgresql"
        if self.kind == "postgresql":
            # The library sets the pool's check only as pre_ping's ping; psycopg_pool takes
            # any callable (`check=`), which the library gives no way to pass.
            self.datastore.pool._check = lent_connection_check

    @contextmanager
    def transaction(self, *, commit: bool = True) -> Iterator[Cursor]:
        with self.datastore.transaction(commit=commit) as raw:
            yield Cursor(raw, paramstyle_qmark=self.kind == "sqlite")

    def run(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """One statement, atomic on its own, and the rows it returns. On PostgreSQL the pool's
        connections are in autocommit: no BEGIN and COMMIT, one round trip instead of three
        (bench/profile.py found them taking more than the statements on the hot paths)."""
        if self.kind == "sqlite":
            with self.transaction() as cursor:
                cursor.execute(sql, params)
                returns = cursor.raw.sqlite_cursor.description is not None
                return cursor.fetchall() if returns else []
        with self.datastore.get_connection() as connection, connection.cursor() as raw:
            raw.execute(sql, tuple(params))
            return raw.fetchall() if raw.description else []  # dicts (dict_row)

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """One statement that only reads, and its rows. On SQLite from a reader connection of
        the library's pool, as its own reads are: run() takes the one writer's, and waits for
        whatever write holds it (a directory import, seconds). On PostgreSQL, run()."""
        if self.kind == "sqlite":
            with self.transaction(commit=False) as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()
        return self.run(sql, params)

    @property
    def without_flush_wait(self) -> str:
        """A condition for a write whose loss in a crash harms nothing (a session's idle expiry
        moved on by a request): on PostgreSQL the statement commits without waiting for its WAL
        to reach the disk, which put that wait in every signed-in page's tail (issue 17's
        bench). set_config(..., true) holds until the end of the statement's own transaction,
        its commit included, and no further: the pool runs statements in autocommit, and every
        other write on the connection waits for the disk as before. Only a row the statement
        matches evaluates it, and only such a statement writes. SQLite keeps its own rule."""
        if self.kind == "sqlite":
            return ""
        return " AND set_config('synchronous_commit', 'off', true) = 'off'"

    def create_tables(self, statements: Sequence[str]) -> None:
        with self.transaction() as cursor:
            if self.kind == "postgresql":
                # Several processes may start at once; DDL under one lock avoids their races.
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (TABLES_LOCK,))
            for statement in statements:
                cursor.execute(statement)

    def ping(self) -> None:
        self.run("SELECT 1")


def conninfo(settings: Settings) -> str:
    db = settings.database
    return psycopg.conninfo.make_conninfo(
        dbname=db.dbname, host=db.host, port=db.port, user=db.user, password=db.password or None,
        connect_timeout=5,
    )


@contextmanager
def schema_lock(settings: Settings) -> Iterator[None]:
    """Start-up creates tables, the library's and ours, one process at a time: PostgreSQL's
    catalogue answers concurrent CREATE ... IF NOT EXISTS and CREATE OR REPLACE FUNCTION from
    several processes starting together with "tuple concurrently updated". On SQLite, a file
    lock beside the database: two processes must not both see a migration as not yet applied."""
    if settings.database.kind != "postgresql":
        path = Path(f"{settings.database.path}.schema.lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
            yield
        return
    with psycopg.connect(conninfo(settings), autocommit=True) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            yield
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))
