"""Staff tokens (support, auditors, the claims feed) and the console sessions opened with them:
opaque 256-bit tokens, stored only as SHA-256 digests.

They live in the event store's database, so a staff token revoked from the command line stops
working in every process at its next request.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

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
