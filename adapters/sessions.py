"""Staff tokens (and, later, member sessions): stored only as SHA-256 digests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from adapters.database import Database
from domain.credentials import token_digest

ROLES = ("support", "auditor", "claims")
STAFF_NAME_MAX = 64

TABLES = [
    """CREATE TABLE IF NOT EXISTS staff_tokens (
        token_digest TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
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
