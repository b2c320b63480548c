"""Member sessions: opaque 256-bit tokens, stored only as SHA-256 digests, with the idle
timeout and absolute lifetime of the contract, and the device each was opened from.

They live in the event store's database, so every API process sees the same sessions and a
revocation (sign-out, password change, closure) ends a session in every process at once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from adapters.database import Database
from domain.credentials import token_digest

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class MemberSession:
    digest: str
    account_id: UUID
    identifier: str
    temporary: bool
    expires_at: datetime
    session_id: str  # what the member sees and names a session by; the digest never leaves
    authenticated_at: datetime  # when the member last proved who they are in it


@dataclass(frozen=True)
class SessionSeen:
    """A live session as its member lists it: never its token, never its digest."""

    session_id: str
    digest: str  # only to tell the caller's own session; never shown
    created_at: datetime
    last_seen_at: datetime
    authenticated_at: datetime
    user_agent: str | None


# Long enough for any real browser's header; a longer one is a client's invention.
USER_AGENT_MAX = 512
# The device a session is opened from. The sign-in use case that opens sessions knows nothing
# of HTTP, so the web layer binds each request's User-Agent here for its duration, as the
# request id is bound for the log lines (adapters/logs.py); other callers open "unknown" ones.
_user_agent: ContextVar[str | None] = ContextVar("member_session_user_agent", default=None)


def bind_user_agent(header: str | None) -> None:
    _user_agent.set(header[:USER_AGENT_MAX] if header else None)


def _public_id() -> str:
    # Random, not derived from the token: a shown id opens nothing and says nothing of it.
    return secrets.token_urlsafe(16)


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
            " created_at, last_seen_at, expires_at, session_id, user_agent, authenticated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (token_digest(token), str(account_id), identifier, int(temporary),
             now.isoformat(), now.isoformat(), expires_at.isoformat(), _public_id(),
             _user_agent.get(), now.isoformat()),
        )
        return token, expires_at

    def find(self, token: str) -> MemberSession | None:
        """The live session for this token, its idle expiry moved on; None when expired."""
        digest = token_digest(token)
        now = self.clock()
        # Every request moves the idle expiry (CONTRACT.md), so every request writes: the write
        # comes first, so that SQLite waits for its lock rather than failing to upgrade a read
        # lock when another process writes at the same moment. Instants are stored as UTC ISO
        # strings, whose text order is time order. A session the previous release opened
        # during a rolling restart gets its public id and its sign-in instant here. The move
        # is not worth a wait for the disk: a crash can only lose the last second of moves,
        # and a session then ends that much earlier, never later.
        rows = self.database.run(
            "UPDATE member_sessions SET last_seen_at = %s,"  # noqa: S608 (our condition)
            " session_id = COALESCE(session_id, %s),"
            " authenticated_at = COALESCE(authenticated_at, created_at)"
            " WHERE token_digest = %s AND expires_at > %s AND last_seen_at > %s"
            + self.database.without_flush_wait + " RETURNING *",
            (now.isoformat(), _public_id(), digest, now.isoformat(),
             (now - IDLE_TIMEOUT).isoformat()),
        )
        if not rows:  # expired, or never was
            self.database.run("DELETE FROM member_sessions WHERE token_digest = %s", (digest,))
            return None
        row = rows[0]
        return MemberSession(
            digest, UUID(row["account_id"]), row["identifier"], bool(row["temporary"]),
            datetime.fromisoformat(row["expires_at"]), row["session_id"],
            datetime.fromisoformat(row["authenticated_at"]),
        )

    def listed(self, account_id: UUID) -> list[SessionSeen]:
        """The account's live sessions, the most recently seen first."""
        now = self.clock()
        for row in self.database.run(  # opened by the previous release, never seen since
            "SELECT token_digest FROM member_sessions WHERE account_id = %s"
            " AND session_id IS NULL", (str(account_id),),
        ):
            self.database.run(
                "UPDATE member_sessions SET session_id = %s, authenticated_at ="
                " COALESCE(authenticated_at, created_at) WHERE token_digest = %s"
                " AND session_id IS NULL", (_public_id(), row["token_digest"]),
            )
        rows = self.database.run(
            "SELECT * FROM member_sessions WHERE account_id = %s AND expires_at > %s"
            " AND last_seen_at > %s ORDER BY last_seen_at DESC, created_at DESC",
            (str(account_id), now.isoformat(), (now - IDLE_TIMEOUT).isoformat()),
        )
        return [_seen(row) for row in rows]

    def end(self, account_id: UUID, session_id: str) -> SessionSeen | None:
        """Ends one of the account's sessions at once; None when it has no such live one."""
        live = [s for s in self.listed(account_id) if s.session_id == session_id]
        if not live:
            return None
        self.revoke(live[0].digest)
        return live[0]

    def end_others(self, account_id: UUID, keep: str) -> list[SessionSeen]:
        """Ends every live session of the account but the one whose digest is `keep`; returns
        the ones it ended (expired ones go too, unlisted: they had ended already)."""
        ended = [s for s in self.listed(account_id) if s.digest != keep]
        self.revoke_all(account_id, keep=keep)
        return ended

    def reauthenticated(self, digest: str, at: datetime) -> None:
        """The member proved who they are again in this session (password, passkey, code)."""
        self.database.run(
            "UPDATE member_sessions SET authenticated_at = %s WHERE token_digest = %s",
            (at.isoformat(), digest),
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


def _seen(row: dict[str, Any]) -> SessionSeen:
    return SessionSeen(
        row["session_id"], row["token_digest"], datetime.fromisoformat(row["created_at"]),
        datetime.fromisoformat(row["last_seen_at"]),
        datetime.fromisoformat(row["authenticated_at"] or row["created_at"]), row["user_agent"],
    )
