"""The simple types the use cases take and return at their boundary (no aggregates leave)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from domain.account import Account


@dataclass(frozen=True)
class RegistrationRequest:
    member_number: str
    last_name: str
    first_name: str
    birth_date: date
    email: str
    secret_question: str | None = None
    secret_answer: str | None = None


@dataclass(frozen=True)
class RegistrationView:
    registration_id: UUID
    status: str
    reason: str | None
    created_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True)
class RecoveryRequest:
    member_number: str
    last_name: str
    first_name: str
    birth_date: date
    new_email: str | None = None
    secret_answer: str | None = None


@dataclass(frozen=True)
class Authenticated:
    account_id: UUID
    identifier: str
    temporary: bool


@dataclass(frozen=True)
class MemberView:
    identifier: str
    member_number: str
    email: str
    first_name: str
    last_name: str
    sections: list[str]
    beneficiaries: list[dict[str, str]]
    alerts_reimbursements: bool
    secret_question: str | None
    member_key: UUID  # what the portal's read models file the member's rows under


@dataclass(frozen=True)
class SupportRequestForm:
    kind: str
    last_name: str
    first_name: str
    message: str
    member_number: str | None = None
    birth_date: date | None = None
    identifier: str | None = None
    email: str | None = None
    new_email: str | None = None


@dataclass(frozen=True)
class ReimbursementFeedItem:
    reimbursement_id: str
    member_number: str
    contract_id: str
    label: str
    care_date: date
    paid_at: datetime
    amount: str


@dataclass(frozen=True)
class ReimbursementAlert:
    email: str
    beneficiary_first_name: str
    amount: str
    care_date: date


@dataclass(frozen=True)
class Notice:
    """What the member is told (the type of the event it is about), and where."""

    event_type: str
    email: str
    locked_until: datetime | None = None  # what a lock notice says: when that lock ends


@dataclass(frozen=True)
class SupportEmail:
    """An e-mail to someone who wrote to support: its kind (SupportMail), where it goes, and
    what it says of their request; for a decision, whether it was accepted and the reply."""

    mail: str
    email: str
    request_id: UUID
    kind: str
    accepted: bool | None = None
    reply: str | None = None


@dataclass(frozen=True)
class IssuedVerification:
    """For the mail worker only: the code exists in its memory and in the e-mail."""

    email: str
    code: str


@dataclass(frozen=True)
class IssuedCredentials:
    """Handed to the mail worker only; the password never leaves its memory but in the e-mail."""

    identifier: str
    email: str
    temporary_password: str
    reason: str
    # The account as the save of the password left it, for the record of the e-mail that
    # follows (MailDelivery.record_credentials_email), not read back from the store. Taken
    # once: a save that fails otherwise than on its version has already moved the account
    # on by its event, and a second save of it would skip that version.
    saved: list[Account] = field(default_factory=list, repr=False, compare=False)


@dataclass(frozen=True)
class OpenedSession:
    """A sign-in's answer: the token is shown once, to the member who signed in."""

    token: str
    expires_at: datetime
    must_change_password: bool


@dataclass(frozen=True)
class StateAt:
    """An account as it was at an instant: the last version recorded by then, and its state."""

    identifier: str
    version: int
    state: dict[str, object]
