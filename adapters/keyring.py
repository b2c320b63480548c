"""The key table for crypto-shredding: one data key per data subject (a member, see
domain/personal_data.py), wrapped with a key derived from ACCOUNTS_SECRET_KEY, so that a copy of
the database alone opens nothing. Destroying a subject's row erases everything sealed with it.
"""

from __future__ import annotations

import base64
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from uuid import UUID

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from adapters.database import Database

# Another process may destroy a key this one has cached: its cached copy opens old events in
# memory for at most this long. Keys used for sealing are never cached (see sealing_key).
OPEN_CACHE_SECONDS = 60.0
NONCE_BYTES = 12


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class KeyRing:
    tables = (
        """CREATE TABLE IF NOT EXISTS personal_keys (
            key_id TEXT PRIMARY KEY,
            subject TEXT NOT NULL UNIQUE,
            wrapped TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        # Which subject each stream belongs to: two pseudonymous ids, no personal data.
        """CREATE TABLE IF NOT EXISTS stream_subjects (
            stream_id TEXT PRIMARY KEY,
            subject TEXT NOT NULL
        )""",
    )

    def __init__(self, database: Database, secret_key: str):
        self.database = database
        self._kek = AESGCM(HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"account-lifecycle data keys",
        ).derive(secret_key.encode()))
        self._open: dict[str, tuple[bytes, float, str]] = {}
        self._subjects: dict[str, str] = {}
        self._lock = threading.Lock()

    def create_tables(self) -> None:
        self.database.create_tables(self.tables)

    def sealing_key(self, subject: UUID) -> tuple[str, bytes]:
        """The subject's current key, made on first use. Read from the table every time, so
        that nothing is sealed with a key another process has just destroyed."""
        row = self._current(subject)
        if row is None:
            key_id, key = uuid.uuid4().hex, AESGCM.generate_key(bit_length=256)
            # A write as the transaction's first statement: SQLite then waits for the lock
            # instead of failing to upgrade a read lock. The loser of a race reads the winner's.
            with self.database.transaction() as cursor:
                cursor.execute(
                    "INSERT INTO personal_keys (key_id, subject, wrapped, created_at)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT (subject) DO NOTHING",
                    (key_id, str(subject), self._wrap(key_id, key),
                     datetime.now(UTC).isoformat()),
                )
            row = self._current(subject)
        assert row is not None
        return row["key_id"], self._unwrap(row["key_id"], row["wrapped"])

    def _current(self, subject: UUID) -> dict[str, str] | None:
        with self.database.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT key_id, wrapped FROM personal_keys WHERE subject = %s", (str(subject),)
            )
            return cursor.fetchone()

    def opening_key(self, key_id: str) -> bytes | None:
        """The key with this id, or None once destroyed."""
        now = time.monotonic()
        cached = self._open.get(key_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        with self.database.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT wrapped, subject FROM personal_keys WHERE key_id = %s", (key_id,)
            )
            row = cursor.fetchone()
        if row is None:
            self._open.pop(key_id, None)
            return None
        key = self._unwrap(key_id, row["wrapped"])
        with self._lock:
            if len(self._open) > 100_000:
                self._open.clear()
            self._open[key_id] = (key, now + OPEN_CACHE_SECONDS, row["subject"])
        return key

    def subject_of(self, stream_id: UUID) -> UUID | None:
        cached = self._subjects.get(str(stream_id))
        if cached is not None:
            return UUID(cached)
        with self.database.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT subject FROM stream_subjects WHERE stream_id = %s", (str(stream_id),)
            )
            row = cursor.fetchone()
        if row is None:
            return None
        self._remember(str(stream_id), row["subject"])
        return UUID(row["subject"])

    def link(self, stream_id: UUID, subject: UUID) -> None:
        """Record that the stream belongs to the subject (its first word on it stands)."""
        if self._subjects.get(str(stream_id)) is not None:
            return
        with self.database.transaction() as cursor:
            cursor.execute(
                "INSERT INTO stream_subjects (stream_id, subject) VALUES (%s, %s)"
                " ON CONFLICT (stream_id) DO NOTHING",
                (str(stream_id), str(subject)),
            )
        self._remember(str(stream_id), str(subject))

    def destroy(self, subject: UUID) -> None:
        """Crypto-shredding: what was sealed with the subject's key can never be opened again."""
        with self.database.transaction() as cursor:
            cursor.execute("DELETE FROM personal_keys WHERE subject = %s", (str(subject),))
        with self._lock:
            for key_id in [k for k, v in self._open.items() if v[2] == str(subject)]:
                del self._open[key_id]

    def _remember(self, stream_id: str, subject: str) -> None:
        with self._lock:
            if len(self._subjects) > 1_000_000:
                self._subjects.clear()
            self._subjects[stream_id] = subject

    def _wrap(self, key_id: str, key: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        return _b64(nonce + self._kek.encrypt(nonce, key, key_id.encode()))

    def _unwrap(self, key_id: str, wrapped: str) -> bytes:
        data = base64.b64decode(wrapped)
        return self._kek.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], key_id.encode())
