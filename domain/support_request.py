"""SupportRequest: what someone asks the support desk, and how an agent decided it."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import AlreadyDecidedError, InvalidTransitionError


class RequestKind(StrEnum):
    EMAIL_UPDATE = "email_update"
    CLOSURE = "closure"
    OTHER = "other"


class RequestStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class SupportRequest(Aggregate):
    @event("SupportRequestSubmitted")
    def __init__(
        self,
        kind: str,
        last_name: str,
        first_name: str,
        message: str,
        member_number: str | None,
        birth_date: date | None,
        identifier: str | None,
        email: str | None,
        new_email: str | None,
        account_id: UUID | None,
        member_key: UUID | None,
        actor: str,
        timestamp: datetime,
    ):
        self.kind = RequestKind(kind)
        self.last_name = last_name
        self.first_name = first_name
        self.message = message
        self.member_number = member_number
        self.birth_date = birth_date
        self.identifier = identifier
        self.email = email
        self.new_email = new_email
        self.account_id = account_id
        self.member_key = member_key
        self.status = RequestStatus.OPEN
        self.decided_at: datetime | None = None
        self.agent: str | None = None
        self.note: str | None = None

    def accept(self, agent: str, note: str, new_email: str | None, at: datetime) -> None:
        self._check_open()
        if self.kind is not RequestKind.OTHER and self.account_id is None:
            raise InvalidTransitionError("no account to act on")
        if self.kind is RequestKind.EMAIL_UPDATE and not (new_email or self.new_email):
            raise InvalidTransitionError("no new e-mail")
        self.support_request_accepted(
            agent=agent, note=note, new_email=new_email or self.new_email,
            actor=f"support:{agent}", timestamp=at,
        )

    def reject(self, agent: str, note: str, at: datetime) -> None:
        self._check_open()
        self.support_request_rejected(
            agent=agent, note=note, actor=f"support:{agent}", timestamp=at
        )

    def _check_open(self) -> None:
        if self.status is not RequestStatus.OPEN:
            raise AlreadyDecidedError(self.status)

    @event("SupportRequestAccepted")
    def support_request_accepted(
        self, agent: str, note: str, new_email: str | None, actor: str, timestamp: datetime
    ) -> None:
        self.status = RequestStatus.ACCEPTED
        self.new_email = new_email
        self.agent, self.note, self.decided_at = agent, note, timestamp

    @event("SupportRequestRejected")
    def support_request_rejected(
        self, agent: str, note: str, actor: str, timestamp: datetime
    ) -> None:
        self.status = RequestStatus.REJECTED
        self.agent, self.note, self.decided_at = agent, note, timestamp
