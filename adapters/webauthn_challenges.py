"""WebAuthn challenges between the options sent to a browser and the response it posts back:
single use, five minutes by default, in the event store's database so that any process may
receive the response. Only a SHA-256 digest of each challenge is stored (like session tokens):
a reader of the table cannot answer a ceremony under way.
"""

from __future__ import annotations

from base64 import urlsafe_b64encode
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

from adapters.database import Database
from domain.credentials import token_digest

LIFETIME = timedelta(minutes=5)  # the options' timeout (adapters/webauthn_ceremonies.py)


def _instant(moment: datetime) -> str:
    # As adapters/sessions.py: UTC with microseconds, so that text order is time order in SQL.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def challenge_digest(challenge: bytes) -> str:
    # Challenges are 32 random bytes: a plain digest is as safe as for session tokens.
    return token_digest(urlsafe_b64encode(challenge).rstrip(b"=").decode("ascii"))


class WebAuthnChallenges:
    def __init__(self, database: Database, clock: Callable[[], datetime]):
        self.database = database
        self.clock = clock

    def issue(
        self, challenge: bytes, purpose: str, account_id: UUID | None,
        lifetime: timedelta = LIFETIME,
    ) -> None:
        self.database.run(
            "INSERT INTO webauthn_challenges (digest, purpose, account_id, expires_at)"
            " VALUES (%s, %s, %s, %s)",
            (challenge_digest(challenge), purpose,
             None if account_id is None else str(account_id),
             _instant(self.clock() + lifetime)),
        )

    def consume(self, challenge: bytes, purpose: str) -> tuple[bool, UUID | None]:
        """(True, its account id) for a challenge issued for `purpose` and not expired; it is
        gone afterwards whatever the answer, so a second use, a use for another purpose or a
        late one never succeeds. One statement: two requests racing with the same response
        cannot both get the row."""
        if not challenge:
            return False, None
        rows = self.database.run(
            "DELETE FROM webauthn_challenges WHERE digest = %s"
            " RETURNING purpose, account_id, expires_at",
            (challenge_digest(challenge),),
        )
        if not rows:
            return False, None
        row = rows[0]
        if row["purpose"] != purpose or row["expires_at"] <= _instant(self.clock()):
            return False, None
        return True, None if row["account_id"] is None else UUID(row["account_id"])

    def purge(self) -> int:
        """Forget the challenges of ceremonies never finished; returns how many."""
        return len(self.database.run(
            "DELETE FROM webauthn_challenges WHERE expires_at <= %s RETURNING digest",
            (_instant(self.clock()),),
        ))
