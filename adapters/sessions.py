"""Member sessions, staff tokens and console sessions: opaque 256-bit tokens, stored only as
SHA-256 digests.

They live in the event store's database, so every API process sees the same sessions, and a
staff token revoked from the command line stops working in every process at its next request.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from adapters.database import Database
from domain.credentials import token_digest

ROLES = ("support", "auditor", "claims")
STAFF_NAME_MAX = 64
TOKEN_DAYS_DEFAULT, TOKEN_DAYS_MAX = 90, 365
# A console sign-in ends after this long, whatever the browser does with its cookie.
CONSOLE_LIFETIME = timedelta(hours=12)
# Staff tokens authenticate every call of the claims feed and every console page: recording
# each use would turn all those reads into writes (on SQLite, serialised behind one lock). An
# operator deciding which token to revoke needs "last used" to the minute, no finer.
LAST_USED_STEP = timedelta(minutes=1)

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_LIFETIME = timedelta(hours=12)



def _instant(moment: datetime) -> str:
    # Always UTC with microseconds: same width, so text order is time order in SQL.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _moment(stored: str | None) -> datetime | None:
    return None if stored is None else datetime.fromisoformat(stored)


@dataclass(frozen=True)
class Staff:
    name: str
    role: str

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.name}"


@dataclass(frozen=True)
class StaffToken:
    """What `staff list` shows of a token: never the token, never its digest."""

    name: str
    role: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class StaffTokens:
    """Staff tokens, and the console sessions opened with them (a session lives no longer than
    its token: every look-up checks both)."""

    def __init__(self, database: Database, clock: Callable[[], datetime]):
        self.database = database
        self.clock = clock

    def create(self, name: str, role: str, expires_in_days: int = TOKEN_DAYS_DEFAULT) -> str:
        """A new 256-bit token for NAME; the caller shows it once, we keep only its digest."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if not name or len(name) > STAFF_NAME_MAX or not name.isprintable() or ":" in name:
            raise ValueError(f"name must be 1 to {STAFF_NAME_MAX} printable characters, no ':'")
        if not 1 <= expires_in_days <= TOKEN_DAYS_MAX:
            raise ValueError(f"a token expires in 1 to {TOKEN_DAYS_MAX} days")
        token = secrets.token_urlsafe(32)
        now = self.clock()
        self.database.run(
            "INSERT INTO staff_tokens (token_digest, name, role, created_at, expires_at)"
            " VALUES (%s, %s, %s, %s, %s)",
            (token_digest(token), name, role, _instant(now),
             _instant(now + timedelta(days=expires_in_days))),
        )
        return token

    def find(self, token: str) -> Staff | None:
        """The staff member of a live token: known, not revoked, not expired."""
        now = self.clock()
        with self.database.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT token_digest, name, role, last_used_at FROM staff_tokens"
                " WHERE token_digest = %s AND revoked_at IS NULL AND expires_at > %s",
                (token_digest(token), _instant(now)),
            )
            row = cursor.fetchone()
        return None if row is None else self._used(row, now)

    def _used(self, row: dict[str, Any], now: datetime) -> Staff:
        # At most one write a minute per token (LAST_USED_STEP); the same condition in the
        # UPDATE keeps it so when several processes see the same stale value at once.
        step_ago = _instant(now - LAST_USED_STEP)
        if row["last_used_at"] is None or row["last_used_at"] < step_ago:
            self.database.run(
                "UPDATE staff_tokens SET last_used_at = %s WHERE token_digest = %s"
                " AND (last_used_at IS NULL OR last_used_at < %s)",
                (_instant(now), row["token_digest"], step_ago),
            )
        return Staff(row["name"], row["role"])

    def list_tokens(self) -> list[StaffToken]:
        """Every token, by name (case aside, so that both engines give the same order)."""
        with self.database.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT name, role, created_at, expires_at, last_used_at, revoked_at"
                " FROM staff_tokens"
            )
            rows = cursor.fetchall()
        rows.sort(key=lambda row: (row["name"].casefold(), row["name"], row["created_at"]))
        return [
            StaffToken(
                row["name"], row["role"], datetime.fromisoformat(row["created_at"]),
                datetime.fromisoformat(row["expires_at"]), _moment(row["last_used_at"]),
                _moment(row["revoked_at"]),
            )
            for row in rows
        ]

    def revoke(self, name: str) -> int:
        """Every token of NAME stops working, with the console sessions opened with them;
        returns how many tokens NAME has (0: an unknown name)."""
        with self.database.transaction() as cursor:
            cursor.execute(
                "DELETE FROM console_sessions WHERE token_digest IN"
                " (SELECT token_digest FROM staff_tokens WHERE name = %s)",
                (name,),
            )
            cursor.execute(
                "UPDATE staff_tokens SET revoked_at = %s WHERE name = %s AND revoked_at IS NULL",
                (_instant(self.clock()), name),
            )
            cursor.execute("SELECT COUNT(*) AS n FROM staff_tokens WHERE name = %s", (name,))
            row = cursor.fetchone()
        return int(row["n"]) if row is not None else 0

    def open_console(self, token: str) -> str:
        """A console session for this (already checked) token; returns its id, for the
        cookie. Only the id's digest is stored, so the table opens no session if it leaks."""
        session_id = secrets.token_urlsafe(32)
        now = self.clock()
        with self.database.transaction() as cursor:
            # Sessions nobody signed out of would otherwise stay for good.
            cursor.execute("DELETE FROM console_sessions WHERE expires_at <= %s", (_instant(now),))
            cursor.execute(
                "INSERT INTO console_sessions (session_digest, token_digest, created_at,"
                " expires_at) VALUES (%s, %s, %s, %s)",
                (token_digest(session_id), token_digest(token), _instant(now),
                 _instant(now + CONSOLE_LIFETIME)),
            )
        return session_id

    def console_staff(self, session_id: str) -> Staff | None:
        """Who is signed in with this console session, while both it and its token are live."""
        digest = token_digest(session_id)
        moment = self.clock()
        now = _instant(moment)
        with self.database.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT t.token_digest, t.name, t.role, t.last_used_at FROM console_sessions c"
                " JOIN staff_tokens t ON t.token_digest = c.token_digest"
                " WHERE c.session_digest = %s AND c.expires_at > %s"
                " AND t.revoked_at IS NULL AND t.expires_at > %s",
                (digest, now, now),
            )
            row = cursor.fetchone()
        if row is None:
            self.close_console(session_id)
            return None
        return self._used(row, moment)

    def close_console(self, session_id: str) -> None:
        self.database.run(
            "DELETE FROM console_sessions WHERE session_digest = %s", (token_digest(session_id),)
        )


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
        # during a rolling restart gets its public id and its sign-in instant here.
        rows = self.database.run(
            "UPDATE member_sessions SET last_seen_at = %s,"
            " session_id = COALESCE(session_id, %s),"
            " authenticated_at = COALESCE(authenticated_at, created_at)"
            " WHERE token_digest = %s AND expires_at > %s AND last_seen_at > %s RETURNING *",
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
