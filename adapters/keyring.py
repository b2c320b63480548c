"""The key table for crypto-shredding: one data key per data subject (a member, see
domain/personal_data.py), wrapped with a key derived from ACCOUNTS_SECRET_KEY, so that a copy of
the database alone opens nothing. Destroying a subject's row erases everything sealed with it.

A member number finds its subject through `member_subjects`, keyed by an HMAC of the member
number under another key derived from ACCOUNTS_SECRET_KEY: a copy of the database alone cannot
try member numbers against it, and its row goes at closure, so even with the secret nothing
leads from the member number to a closed account.
"""

from __future__ import annotations

import base64
import hmac
import os
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from adapters.database import Database

# Another process may destroy a key this one has cached: its cached copy opens old events in
# memory for at most this long. Keys used for sealing are never cached (see sealing_key).
OPEN_CACHE_SECONDS = 60.0
# What a process keeps, emptied when full: the members of the last minutes and their streams,
# a few megabytes. Bounds of 100,000 keys and a million streams kept the memory of every
# process growing for hours, about a kilobyte per registration each (issue 21's soak,
# bench/memory_soak.py); an opened key serves a minute only (OPEN_CACHE_SECONDS) anyway.
KEYS_KEPT = 5_000
STREAMS_KEPT = 20_000
NONCE_BYTES = 12


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass
class NewKeys:
    """The keys made and the streams linked while one save was mapped: written by the event
    recorder in the save's own transaction (adapters/recorders.py), so a registration is one
    transaction, not four. A key row that another process wrote first for the same subject
    fails the whole save (IntegrityError), which is retried with that process's key."""

    keys: list[tuple[str, str, str, str]] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)
    # (lookup, subject) a member number now finds; subjects nothing finds any longer.
    lookups: list[tuple[str, str]] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    # The keys that already existed and sealed something in the save: an erasure may destroy
    # one between the read that found it and the save's commit (keys_still_there).
    sealed_with: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.keys or self.links or self.lookups or self.retired or self.sealed_with)

    def keys_still_there(self, *, lock: bool = True) -> tuple[str, list[str]]:
        """The check the save's transaction makes, as (SQL, parameters): the rows of the keys
        it sealed with, locked until it commits. A row missing means an erasure destroyed the
        key meanwhile, and the save is retried (sealing then under the subject's key of now);
        a row found holds the erasure's DELETE back until the save commits, so its events
        come before the erasure in the log. Without it, an agent's note sealed with a key that
        was destroyed before the note's save committed stood after the erasure: unreadable in
        the log, yet in clear in a read model whose process still had the key in its cache."""
        keys = sorted(self.sealed_with)
        return (
            "SELECT key_id FROM personal_keys WHERE key_id IN ("  # noqa: S608  (placeholders)
            + ", ".join(["%s"] * len(keys)) + ")" + (" FOR SHARE" if lock else ""),
            keys,
        )

    def statements(self) -> list[tuple[str, Sequence[Any]]]:
        """(SQL with %s placeholders, parameters), a statement per table."""
        found: list[tuple[str, Sequence[Any]]] = []
        if self.keys:
            found.append((
                "INSERT INTO personal_keys (key_id, subject, wrapped, created_at) VALUES "  # noqa: S608
                + ", ".join(["(%s, %s, %s, %s)"] * len(self.keys)),
                [value for row in self.keys for value in row],
            ))
        if self.links:
            found.append((
                "INSERT INTO stream_subjects (stream_id, subject) VALUES "  # noqa: S608  (placeholders)
                + ", ".join(["(%s, %s)"] * len(self.links))
                + " ON CONFLICT (stream_id) DO NOTHING",
                [value for row in self.links.items() for value in row],
            ))
        if self.retired:
            found.append((
                "DELETE FROM member_subjects WHERE subject IN ("  # noqa: S608  (placeholders)
                + ", ".join(["%s"] * len(self.retired)) + ")",
                self.retired,
            ))
        if self.lookups:
            # No ON CONFLICT: a racing save that indexed the same member first fails this one,
            # which is retried and finds that member's subject (what MemberIndex's uuid5 id did).
            found.append((
                "INSERT INTO member_subjects (lookup, subject) VALUES "  # noqa: S608
                + ", ".join(["(%s, %s)"] * len(self.lookups)),
                [value for row in self.lookups for value in row],
            ))
        return found


class KeyRing:
    def __init__(self, database: Database, secret_key: str):
        self.database = database
        self._kek = AESGCM(HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"account-lifecycle data keys",
        ).derive(secret_key.encode()))
        self._lookup_key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"account-lifecycle members",
        ).derive(secret_key.encode())
        self._open: dict[str, tuple[bytes, float, str]] = {}
        self._subjects: dict[str, str] = {}
        self._lock = threading.Lock()

    def sealing_key(self, subject: UUID, new_keys: NewKeys) -> tuple[str, bytes]:
        """The subject's current key, made on first use into `new_keys` (the save that seals
        with it writes it). Read from the table every time, so that nothing is sealed with a
        key another process has just destroyed."""
        found = self.current_key(subject)
        if found is not None:
            return found
        return self.new_key(subject, new_keys)

    def new_key(self, subject: UUID, new_keys: NewKeys) -> tuple[str, bytes]:
        """A key for a subject who has none, into `new_keys` for the save to write (a second
        key for one subject fails that save: personal_keys.subject is unique)."""
        key_id, key = uuid.uuid4().hex, AESGCM.generate_key(bit_length=256)
        new_keys.keys.append(
            (key_id, str(subject), self._wrap(key_id, key), datetime.now(UTC).isoformat())
        )
        return key_id, key

    def current_key(self, subject: UUID) -> tuple[str, bytes] | None:
        """The subject's key if they have one (none yet, or destroyed: None)."""
        row = self._current(subject)
        return None if row is None else (row["key_id"], self._unwrap(row["key_id"], row["wrapped"]))

    def _current(self, subject: UUID) -> dict[str, str] | None:
        rows = self.database.run(
            "SELECT key_id, wrapped FROM personal_keys WHERE subject = %s", (str(subject),)
        )
        return rows[0] if rows else None

    def opening_key(self, key_id: str) -> bytes | None:
        """The key with this id, or None once destroyed."""
        now = time.monotonic()
        cached = self._open.get(key_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        rows = self.database.run(
            "SELECT wrapped, subject FROM personal_keys WHERE key_id = %s", (key_id,)
        )
        if not rows:
            self._open.pop(key_id, None)
            return None
        row = rows[0]
        key = self._unwrap(key_id, row["wrapped"])
        with self._lock:
            if len(self._open) >= KEYS_KEPT:
                self._open.clear()
            self._open[key_id] = (key, now + OPEN_CACHE_SECONDS, row["subject"])
        return key

    def subject_of(self, stream_id: UUID) -> UUID | None:
        cached = self._subjects.get(str(stream_id))
        if cached is not None:
            return UUID(cached)
        rows = self.database.run(
            "SELECT subject FROM stream_subjects WHERE stream_id = %s", (str(stream_id),)
        )
        if not rows:
            return None
        self._remember(str(stream_id), rows[0]["subject"])
        return UUID(rows[0]["subject"])

    def link(self, stream_id: UUID, subject: UUID, new_keys: NewKeys) -> None:
        """Record, in `new_keys` for the save to write, that the stream belongs to the subject
        (its first word on it stands)."""
        if self._subjects.get(str(stream_id)) is None:
            new_keys.links.setdefault(str(stream_id), str(subject))

    def lookup(self, member_number: str) -> str:
        """The member number as `member_subjects` keys it."""
        return _b64(hmac.digest(self._lookup_key, member_number.encode(), "sha256"))

    def find(self, member_number: str) -> UUID | None:
        """The subject the member number finds now (read every time: a closure in another
        process retires it)."""
        rows = self.database.run(
            "SELECT subject FROM member_subjects WHERE lookup = %s", (self.lookup(member_number),)
        )
        return UUID(rows[0]["subject"]) if rows else None

    def preload(self, key_ids: set[str]) -> None:
        """Read the keys not cached yet in one query (a batch of events' keys)."""
        now = time.monotonic()
        wanted = [k for k in key_ids if (self._open.get(k) or (b"", 0.0))[1] <= now]
        if not wanted:
            return
        rows = self.database.run(
            "SELECT key_id, wrapped, subject FROM personal_keys WHERE key_id IN ("  # noqa: S608
            + ", ".join(["%s"] * len(wanted)) + ")", wanted,
        )
        with self._lock:
            if len(self._open) + len(rows) > KEYS_KEPT:
                self._open.clear()
            for row in rows:
                key = self._unwrap(row["key_id"], row["wrapped"])
                self._open[row["key_id"]] = (key, now + OPEN_CACHE_SECONDS, row["subject"])

    def destroy(self, subject: UUID) -> None:
        """Crypto-shredding: what was sealed with the subject's key can never be opened again,
        and no member number finds the subject."""
        with self.database.transaction() as cursor:
            cursor.execute("DELETE FROM personal_keys WHERE subject = %s", (str(subject),))
            cursor.execute("DELETE FROM member_subjects WHERE subject = %s", (str(subject),))
        with self._lock:
            for key_id in [k for k, v in self._open.items() if v[2] == str(subject)]:
                del self._open[key_id]

    def written(self, new_keys: NewKeys) -> None:
        """The save that carried them committed: their links are known from now on."""
        for stream_id, subject in new_keys.links.items():
            self._remember(stream_id, subject)

    def _remember(self, stream_id: str, subject: str) -> None:
        with self._lock:
            if len(self._subjects) >= STREAMS_KEPT:
                self._subjects.clear()
            self._subjects[stream_id] = subject

    def _wrap(self, key_id: str, key: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        return _b64(nonce + self._kek.encrypt(nonce, key, key_id.encode()))

    def _unwrap(self, key_id: str, wrapped: str) -> bytes:
        data = base64.b64decode(wrapped)
        return self._kek.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], key_id.encode())
