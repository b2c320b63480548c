"""Member sessions and staff tokens: opaque 256-bit tokens, stored only as SHA-256 digests.

They live in the event store's database, so every API process sees the same sessions.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from adapters.database import Database
from domain.credentials import token_digest

ROLES = ("support", "auditor", "claims")
STAFF_NAME_MAX = 64

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_LIFETIME = timedelta(hours=12)

TABLES = [
    """CREATE TABLE IF NOT EXISTS staff_tokens (
        token_digest TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS member_sessions (
        token_digest TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        identifier TEXT NOT NULL,
        temporary INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS member_sessions_account ON member_sessions (account_id)",
]


@dataclass(frozen=True)
class Staff:
    name: str
    role: str

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.name}"


class StaffTokens:
    def __init__(self, database: Database):
        self.database = database

    def create_tables(self) -> None:
        self.database.create_tables(TABLES)

    def create(self, name: str, role: str) -> str:
        """A new 256-bit token for NAME; the caller shows it once, we keep only its digest."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if not name or len(name) > STAFF_NAME_MAX or not name.isprintable() or ":" in name:
            raise ValueError(f"name must be 1 to {STAFF_NAME_MAX} printable characters, no ':'")
        token = secrets.token_urlsafe(32)
        with self.database.transaction() as cursor:
            cursor.execute(
                "INSERT INTO staff_tokens (token_digest, name, role, created_at)"
                " VALUES (%s, %s, %s, %s)",
                (token_digest(token), name, role, datetime.now(UTC).isoformat()),
            )
        return token

    def find(self, token: str) -> Staff | None:
        with self.database.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT name, role FROM staff_tokens WHERE token_digest = %s",
                (token_digest(token),),
            )
            row = cursor.fetchone()
        return None if row is None else Staff(row["name"], row["role"])


@dataclass(frozen=True)
class MemberSession:
    digest: str
    account_id: UUID
    identifier: str
    temporary: bool
    expires_at: datetime


class MemberSessions:
    def __init__(self, database: Database, clock: Callable[[], datetime]):
        self.database = database
        self.clock = clock

    def open(self, account_id: UUID, identifier: str, temporary: bool) -> tuple[str, datetime]:
        """A new session; returns the token (shown once) and its absolute expiry."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        expires_at = now + ABSOLUTE_LIFETIME
        self.database.run(
            "INSERT INTO member_sessions (token_digest, account_id, identifier, temporary,"
            " created_at, last_seen_at, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (token_digest(token), str(account_id), identifier, int(temporary),
             now.isoformat(), now.isoformat(), expires_at.isoformat()),
        )
        return token, expires_at

    def find(self, token: str) -> MemberSession | None:
        """The live session for this token, its idle expiry moved on; None when expired."""
        digest = token_digest(token)
        now = self.clock()
        # Every request moves the idle expiry (CONTRACT.md), so every request writes: the write
        # comes first, so that SQLite waits for its lock rather than failing to upgrade a read
        # lock when another process writes at the same moment. Instants are stored as UTC ISO
        # strings, whose text order is time order.
        rows = self.database.run(
            "UPDATE member_sessions SET last_seen_at = %s WHERE token_digest = %s"
            " AND expires_at > %s AND last_seen_at > %s RETURNING *",
            (now.isoformat(), digest, now.isoformat(), (now - IDLE_TIMEOUT).isoformat()),
        )
        if not rows:  # expired, or never was
            self.database.run("DELETE FROM member_sessions WHERE token_digest = %s", (digest,))
            return None
        row = rows[0]
        expires_at = datetime.fromisoformat(row["expires_at"])
        return MemberSession(
            digest, UUID(row["account_id"]), row["identifier"], bool(row["temporary"]), expires_at
        )

    def revoke(self, digest: str) -> None:
        with self.database.transaction() as cursor:
            cursor.execute("DELETE FROM member_sessions WHERE token_digest = %s", (digest,))

    def revoke_all(self, account_id: UUID, keep: str | None = None) -> None:
        """Every session of the account, but the one whose digest is `keep`."""
        with self.database.transaction() as cursor:
            cursor.execute(
                "DELETE FROM member_sessions WHERE account_id = %s AND token_digest <> %s",
                (str(account_id), keep or ""),
            )

    def end_temporary(self, digest: str) -> None:
        """After the password change, the session that made it is a normal one."""
        with self.database.transaction() as cursor:
            cursor.execute(
                "UPDATE member_sessions SET temporary = 0 WHERE token_digest = %s", (digest,)
            )
