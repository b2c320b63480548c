"""Account: one member's access to the portal, from opening to closure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import AccountClosedError, CredentialsEmailCapError
from domain.states import AccountStatus, check_transition

CREDENTIALS_EMAIL_CAP = 3
CREDENTIALS_EMAIL_WINDOW = timedelta(hours=24)
# Support re-sends are not capped (CONTRACT.md, "Rules in detail").
CAPPED_REASONS = frozenset({"registration", "registration_retry", "recovery"})


@dataclass
class CredentialsRequest:
    request_id: str
    reason: str
    requested_at: datetime
    issued: bool = False
    sent: bool = False
    failures: int = 0


class Account(Aggregate):
    @event("AccountOpened")
    def __init__(
        self,
        identifier: str,
        member_number: str,
        email: str,
        sections: list[str],
        registration_id: UUID,
        secret_question: str | None,
        secret_answer_hash: str | None,
        actor: str,
        timestamp: datetime,
    ):
        self.identifier = identifier
        self.member_number = member_number
        self.email = email
        self.sections = sections
        self.registration_id = registration_id
        self.secret_question = secret_question
        self.secret_answer_hash = secret_answer_hash
        self.status = AccountStatus.ACTIVE
        self.has_signed_in = False
        self.temp_password_hash: str | None = None
        self.temp_password_expires_at: datetime | None = None
        self.credentials_requests: list[CredentialsRequest] = []

    @property
    def is_open(self) -> bool:
        return self.status is AccountStatus.ACTIVE

    def _check_open(self) -> None:
        if not self.is_open:
            raise AccountClosedError(self.identifier)

    # Credentials: requested by a use case, issued and sent by the worker.

    def request_credentials(self, request_id: str, reason: str, actor: str, at: datetime) -> None:
        self._check_open()
        if reason in CAPPED_REASONS:
            recent = [
                r.requested_at
                for r in self.credentials_requests
                if r.reason in CAPPED_REASONS and at - r.requested_at < CREDENTIALS_EMAIL_WINDOW
            ]
            if len(recent) >= CREDENTIALS_EMAIL_CAP:
                wait = min(recent) + CREDENTIALS_EMAIL_WINDOW - at
                raise CredentialsEmailCapError(max(1, int(wait.total_seconds()) + 1))
        self.credentials_requested(request_id=request_id, reason=reason, actor=actor, timestamp=at)

    def credentials_request(self, request_id: str) -> CredentialsRequest | None:
        return next((r for r in self.credentials_requests if r.request_id == request_id), None)

    def is_credentials_request_pending(self, request_id: str) -> bool:
        """Pending: open account, not yet sent, and no newer request supersedes it."""
        request = self.credentials_request(request_id)
        if request is None or request.sent or not self.is_open:
            return False
        return self.credentials_requests[-1] is request

    def issue_temporary_password(
        self, request_id: str, password_hash: str, expires_at: datetime, at: datetime
    ) -> None:
        self._check_open()
        request = self.credentials_request(request_id)
        if request is None:
            raise KeyError(request_id)
        self.temp_password_issued(
            request_id=request_id,
            password_hash=password_hash,
            expires_at=expires_at,
            reason=request.reason,
            actor="system:credentials",
            timestamp=at,
        )

    def record_credentials_email_sent(self, request_id: str, at: datetime) -> None:
        self.credentials_email_sent(request_id=request_id, actor="system:mailer", timestamp=at)

    def record_credentials_email_failed(self, request_id: str, error: str, at: datetime) -> None:
        self.credentials_email_failed(
            request_id=request_id, error=error, actor="system:mailer", timestamp=at
        )

    def change_email(self, new_email: str, reason: str, actor: str, at: datetime) -> None:
        self._check_open()
        if new_email == self.email:
            return
        self.email_changed(old=self.email, new=new_email, reason=reason, actor=actor, timestamp=at)

    def set_secret_question(
        self, question: str, answer_hash: str, actor: str, at: datetime
    ) -> None:
        self._check_open()
        self.secret_question_set(
            question=question, answer_hash=answer_hash, actor=actor, timestamp=at
        )

    def close(self, agent: str, at: datetime) -> None:
        check_transition(self.status, AccountStatus.CLOSED)
        self.account_closed(agent=agent, actor=f"support:{agent}", timestamp=at)

    # Events.

    @event("CredentialsRequested")
    def credentials_requested(
        self, request_id: str, reason: str, actor: str, timestamp: datetime
    ) -> None:
        self.credentials_requests.append(CredentialsRequest(request_id, reason, timestamp))

    @event("TempPasswordIssued")
    def temp_password_issued(
        self,
        request_id: str,
        password_hash: str,
        expires_at: datetime,
        reason: str,
        actor: str,
        timestamp: datetime,
    ) -> None:
        # A newer temporary password cancels the older ones at once.
        self.temp_password_hash = password_hash
        self.temp_password_expires_at = expires_at
        self.credentials_request(request_id).issued = True

    @event("CredentialsEmailSent")
    def credentials_email_sent(self, request_id: str, actor: str, timestamp: datetime) -> None:
        self.credentials_request(request_id).sent = True

    @event("CredentialsEmailFailed")
    def credentials_email_failed(
        self, request_id: str, error: str, actor: str, timestamp: datetime
    ) -> None:
        self.credentials_request(request_id).failures += 1

    @event("EmailChanged")
    def email_changed(
        self, old: str, new: str, reason: str, actor: str, timestamp: datetime
    ) -> None:
        self.email = new

    @event("SecretQuestionSet")
    def secret_question_set(
        self, question: str, answer_hash: str, actor: str, timestamp: datetime
    ) -> None:
        self.secret_question = question
        self.secret_answer_hash = answer_hash

    @event("AccountClosed")
    def account_closed(self, agent: str, actor: str, timestamp: datetime) -> None:
        self.status = AccountStatus.CLOSED
