"""What the use cases need from outside, named as small Protocols; the composition root
(bootstrap.py) hands them the adapters that implement these, tests hand them in-memory ones.

The member directory is domain/directory.py's MemberDirectory; the password hasher and the
guessability check are in domain/credentials.py, beside the rules that use them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

from domain.credentials import GuessabilityCheck, PasswordHasher
from domain.directory import MemberDirectory
from domain.passkey_ports import Challenges, PasskeyCeremonies

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class MemberSessions(Protocol):
    """The signed-in members' sessions (opaque tokens, stored as digests)."""

    def open(self, account_id: UUID, identifier: str, temporary: bool) -> tuple[str, datetime]:
        """A new session: its token (shown once) and its absolute expiry."""
        ...

    def revoke(self, digest: str) -> None: ...

    def revoke_all(self, account_id: UUID, keep: str | None = None) -> None:
        """Every session of the account but the one whose digest is `keep`."""
        ...

    def end_temporary(self, digest: str) -> None:
        """The session that replaced the temporary password becomes a normal one."""
        ...


class DataSubjects(Protocol):
    """The members as data subjects: the keys that seal their personal fields
    (crypto-shredding), and how a member number finds its subject (domain/personal_data.py)."""

    def find(self, member_number: str) -> UUID | None:
        """The member's current subject: their MemberIndex's id, None when they have none."""
        ...

    def destroy(self, subject: UUID) -> None:
        """Erasure: what was sealed for the subject is unreadable, and nothing finds it."""
        ...


class MemberEvents(Protocol):
    """The audit index: where each of a member's events is in the log."""

    def member_events(self, member_key: UUID) -> list[dict[str, object]]:
        """Rows with `position`, `stream_id` and `version`, in log order."""
        ...


@dataclass(frozen=True)
class Ports:
    directory: MemberDirectory
    hasher: PasswordHasher
    strength: GuessabilityCheck
    sessions: MemberSessions
    subjects: DataSubjects
    clock: Clock = utc_now
    # The passkey use cases' (domain/passkey_ports.py); callers that never reach them (a
    # bulk loader) leave them out.
    ceremonies: PasskeyCeremonies | None = None
    challenges: Challenges | None = None
