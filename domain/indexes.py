"""Index aggregates: natural-key uniqueness enforced by the event store itself.

Each but MemberIndex has a deterministic uuid5 id, so two racing writers that both try to create
one make the store raise IntegrityError for the loser; the same holds for a stale version of an
existing one. The member number is personal data that erasure must unlink, so MemberIndex's id
is random: the key ring's keyed lookup of it, written in the same save, is what collides
(domain/personal_data.py).
Their events name who caused them, like every other event (`system:<part>`, `support:<name>`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

NAMESPACE = uuid5(NAMESPACE_URL, "urn:account-lifecycle")
IDEMPOTENCY_TTL = timedelta(hours=24)


class MemberIndex(Aggregate):
    """One per member number until their account closes: the member's open account and their
    registration under review. Its id is the member's data subject (domain/personal_data.py)."""

    @event("MemberIndexed")
    def __init__(self, member_number: str, actor: str, timestamp: datetime):
        self.member_number = member_number
        self.account_id: UUID | None = None
        self.review_id: UUID | None = None

    @event("AccountLinked")
    def link_account(self, account_id: UUID, actor: str, timestamp: datetime) -> None:
        self.account_id = account_id

    @event("ReviewOpened")
    def open_review(self, registration_id: UUID, actor: str, timestamp: datetime) -> None:
        self.review_id = registration_id

    @event("ReviewClosed")
    def close_review(self, registration_id: UUID, actor: str, timestamp: datetime) -> None:
        self.review_id = None

    @event("AccountUnlinked")
    def unlink_account(self, account_id: UUID, actor: str, timestamp: datetime) -> None:
        self.account_id = None


class IdentifierIndex(Aggregate):
    """One per 8-digit identifier, never deleted: an identifier is never reused."""

    @staticmethod
    def create_id(identifier: str) -> UUID:
        return uuid5(NAMESPACE, f"identifier:{identifier}")

    @event("IdentifierReserved")
    def __init__(self, identifier: str, account_id: UUID, actor: str, timestamp: datetime):
        self.identifier = identifier
        self.account_id = account_id


class IdempotencyRecord(Aggregate):
    """The first answer to a request sent with an Idempotency-Key, kept 24 hours."""

    @staticmethod
    def create_id(scope: str, key: str) -> UUID:
        return uuid5(NAMESPACE, f"idempotency:{scope}:{key}")

    @event("IdempotencyKeyUsed")
    def __init__(
        self, scope: str, key: str, body_digest: str, result_id: UUID, actor: str,
        timestamp: datetime,
    ):
        self.body_digest = body_digest
        self.result_id = result_id
        self.used_at = timestamp

    def is_live(self, at: datetime) -> bool:
        return at - self.used_at < IDEMPOTENCY_TTL

    @event("IdempotencyKeyRenewed")
    def renew(self, body_digest: str, result_id: UUID, actor: str, timestamp: datetime) -> None:
        self.body_digest = body_digest
        self.result_id = result_id
        self.used_at = timestamp


class EmailVerificationIndex(Aggregate):
    """One per e-mail verification code digest: which account the code belongs to."""

    @staticmethod
    def create_id(token_hash: str) -> UUID:
        return uuid5(NAMESPACE, f"email-verification:{token_hash}")

    @event("EmailVerificationCodeIndexed")
    def __init__(self, token_hash: str, account_id: UUID, actor: str, timestamp: datetime):
        self.account_id = account_id
