"""One active projection runner at a time; the others stand by and take over when it dies.

On PostgreSQL the lock is a session advisory lock on a connection of its own: the server
releases it the moment the holder's connection ends (process killed, machine gone), so a
standby's next try wins. On SQLite, whose database is one file on one machine, it is an
exclusive flock on a file beside the database, released by the kernel the same way.
Correctness does not rest on the lock (each projection's tracking record applies every event
exactly once even with two runners); it keeps one runner doing the work instead of several
racing for it.
"""

from __future__ import annotations

import fcntl
import logging
from pathlib import Path
from typing import IO, Protocol

import psycopg

from adapters.database import conninfo
from adapters.settings import Settings

log = logging.getLogger(__name__)
# pg_advisory_lock's key: any bigint agreed by every runner of this service.
LOCK_KEY = 0x61636374_70726A  # "acct" "prj"


class RunnerLock(Protocol):
    def acquire(self) -> bool: ...
    def held(self) -> bool: ...
    def release(self) -> None: ...


class PostgresRunnerLock:
    def __init__(self, conninfo: str):
        self.conninfo = conninfo
        self._connection: psycopg.Connection | None = None

    def acquire(self) -> bool:
        try:
            if self._connection is None or self._connection.closed:
                self._connection = psycopg.connect(
                    self.conninfo, autocommit=True, connect_timeout=5
                )
            row = self._connection.execute(
                "SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)
            ).fetchone()
            return bool(row and row[0])
        except psycopg.Error as error:
            log.warning("runner lock: database unreachable (%s)", error)
            self.release()
            return False

    def held(self) -> bool:
        """Whether our session, and so the lock, is still alive."""
        if self._connection is None:
            return False
        try:
            self._connection.execute("SELECT 1")
            return True
        except psycopg.Error:
            self.release()
            return False

    def release(self) -> None:
        if self._connection is not None:
            self._connection.close()  # ends the session: the server drops the lock
            self._connection = None


class FileRunnerLock:
    def __init__(self, path: Path):
        self.path = path
        self._file: IO[bytes] | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def held(self) -> bool:
        return self._file is not None

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def runner_lock(settings: Settings) -> RunnerLock:
    db = settings.database
    if db.kind == "sqlite":
        return FileRunnerLock(Path(f"{db.path}.projections.lock"))
    return PostgresRunnerLock(conninfo(settings))
