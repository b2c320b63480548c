"""Account: one member's access to the portal, from opening to closure.

Here are the account's state, its opening, closure and settings, and every one of its events:
they stay in Account's own class body because that names their stored topics
(domain.account:Account.<Name>). Its credentials and e-mail change commands and questions come
from its bases in domain/account_credentials.py and domain/account_email_change.py; their
limits, and the pending requests of domain/account_requests.py, are still exported from here.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.account_credentials import (
    CAPPED_REASONS,
    CREDENTIALS_EMAIL_CAP,
    CREDENTIALS_EMAIL_WINDOW,
    FAILURES_BEFORE_LOCK,
    LOCK_DURATION,
    SECRET_ANSWER_ATTEMPTS,
    SECRET_ANSWER_WINDOW,
    CredentialsMixin,
)
from domain.account_email_change import EMAIL_VERIFICATION_LIFETIME, EmailChangeMixin
from domain.account_requests import CredentialsRequest, EmailChange
from domain.errors import AccountClosedError, InvalidTransitionError
from domain.mail import MailOutcome
from domain.personal_data import PERSONAL_STATE
from domain.states import AccountStatus, check_transition

__all__ = [
    "CAPPED_REASONS",
    "CREDENTIALS_EMAIL_CAP",
    "CREDENTIALS_EMAIL_WINDOW",
    "EMAIL_VERIFICATION_LIFETIME",
    "FAILURES_BEFORE_LOCK",
    "LOCK_DURATION",
    "SECRET_ANSWER_ATTEMPTS",
    "SECRET_ANSWER_WINDOW",
    "Account",
    "CredentialsRequest",
    "EmailChange",
]


class Account(CredentialsMixin, EmailChangeMixin, Aggregate):
    @event("AccountOpened")
    def __init__(
        self,
        identifier: str,
        member_number: str,
        member_key: UUID,
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
        self.member_key = member_key
        self.email = email
        self.sections = sections
        self.registration_id = registration_id
        self.secret_question = secret_question
        self.secret_answer_hash = secret_answer_hash
        self.status = AccountStatus.ACTIVE
        self.has_signed_in = False
        self.password_hash: str | None = None
        self.temp_password_hash: str | None = None
        self.temp_password_expires_at: datetime | None = None
        self.credentials_requests: list[CredentialsRequest] = []
        self.failed_sign_ins = 0
        self.locked_until: datetime | None = None
        self.secret_answer_failures: list[datetime] = []
        self.email_change: EmailChange | None = None
        self.alerts_reimbursements = False
        self.personal_data_erased = False
        self.notified_versions: list[int] = []  # events whose notice's outcome is recorded

    @property
    def is_open(self) -> bool:
        return self.status == AccountStatus.ACTIVE  # == : a snapshot gives back a plain str

    def _check_open(self) -> None:
        if not self.is_open:
            raise AccountClosedError(self.identifier)

    @property
    def actor(self) -> str:
        return f"member:{self.identifier}"

    # Opening, closure and settings.

    def set_secret_question(
        self, question: str, answer_hash: str, actor: str, at: datetime
    ) -> None:
        self._check_open()
        self.secret_question_set(
            question=question, answer_hash=answer_hash, actor=actor, timestamp=at
        )

    def set_alerts(self, reimbursements: bool, at: datetime) -> None:
        self._check_open()
        if reimbursements != self.alerts_reimbursements:
            self.alerts_preference_changed(
                reimbursements=reimbursements, actor=self.actor, timestamp=at
            )

    def close(self, agent: str, at: datetime) -> None:
        check_transition(self.status, AccountStatus.CLOSED)
        self.account_closed(agent=agent, actor=f"support:{agent}", timestamp=at)

    def erase_personal_data(self, at: datetime) -> None:
        """Recorded once the member's keys are destroyed; only after closure."""
        if self.is_open:
            raise InvalidTransitionError("an open account keeps its personal data")
        if not self.personal_data_erased:
            self.personal_data_erased_(
                member_key=self.member_key, actor="system:erasure", timestamp=at
            )

    def request_closure(self, request_id: UUID, at: datetime) -> None:
        self._check_open()
        self.closure_requested(request_id=request_id, actor=self.actor, timestamp=at)

    def record_notice(self, about_version: int, outcome: str, at: datetime) -> None:
        """How the notice of the event at `about_version` ended; once per event. A closed or
        erased account takes it too: the closure's own notice goes out after the closure."""
        outcome = MailOutcome(outcome)
        if not 1 <= about_version <= self.version:
            raise ValueError(f"no event {about_version} to notify of")
        if about_version not in self.notified_versions:
            self.notice_sent(
                about_version=about_version, outcome=outcome.value, actor="system:mailer",
                timestamp=at,
            )

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
        self.email_change = None

    @event("SignedIn")
    def signed_in(self, with_temporary: bool, actor: str, timestamp: datetime) -> None:
        self.has_signed_in = True
        self.failed_sign_ins = 0
        if with_temporary:
            # Using the temporary password is what retires the member's own one.
            self.password_hash = None

    @event("SignInFailed")
    def sign_in_failed(self, context: str, actor: str, timestamp: datetime) -> None:
        self.failed_sign_ins += 1

    @event("AccountLocked")
    def account_locked(self, until: datetime, actor: str, timestamp: datetime) -> None:
        self.locked_until = until
        self.failed_sign_ins = 0

    @event("AccountUnlocked")
    def account_unlocked(self, agent: str, actor: str, timestamp: datetime) -> None:
        self.locked_until = None
        self.failed_sign_ins = 0

    @event("PasswordChanged")
    def password_changed(self, password_hash: str, actor: str, timestamp: datetime) -> None:
        self.password_hash = password_hash
        self.temp_password_hash = None
        self.temp_password_expires_at = None

    @event("RecoveryRequested")
    def recovery_requested(self, outcome: str, actor: str, timestamp: datetime) -> None:
        if outcome == "wrong_secret_answer":
            self.secret_answer_failures.append(timestamp)

    @event("EmailChangeRequested")
    def email_change_requested(
        self, request_id: str, new_email: str, actor: str, timestamp: datetime
    ) -> None:
        self.email_change = EmailChange(request_id, new_email, timestamp)

    @event("EmailVerificationIssued")
    def email_verification_issued(
        self, request_id: str, token_hash: str, expires_at: datetime, actor: str,
        timestamp: datetime,
    ) -> None:
        # A newer code replaces the older one: only the latest e-mail's code works. The change
        # may be unknown here: loaded from a snapshot whose pending change was erased.
        if self.email_change is not None:
            self.email_change.token_digest = token_hash
            self.email_change.expires_at = expires_at

    @event("AlertsPreferenceChanged")
    def alerts_preference_changed(
        self, reimbursements: bool, actor: str, timestamp: datetime
    ) -> None:
        self.alerts_reimbursements = reimbursements

    @event("SecretQuestionSet")
    def secret_question_set(
        self, question: str, answer_hash: str, actor: str, timestamp: datetime
    ) -> None:
        self.secret_question = question
        self.secret_answer_hash = answer_hash

    @event("AccountClosed")
    def account_closed(self, agent: str, actor: str, timestamp: datetime) -> None:
        self.status = AccountStatus.CLOSED

    @event("PersonalDataErased")
    def personal_data_erased_(self, member_key: UUID, actor: str, timestamp: datetime) -> None:
        self.personal_data_erased = True
        # In memory too, what the account reads as once reloaded: a copy a process still holds
        # cannot then be snapshotted, or shown, with the member's data.
        for field, erased in PERSONAL_STATE["Account"].items():
            setattr(self, field, erased)

    @event("ClosureRequested")
    def closure_requested(self, request_id: UUID, actor: str, timestamp: datetime) -> None:
        pass  # the support request carries the matter; the account keeps the trace

    @event("NoticeSent")
    def notice_sent(
        self, about_version: int, outcome: str, actor: str, timestamp: datetime
    ) -> None:
        self.notified_versions.append(about_version)

    @event("CredentialsEmailOverdue")
    def credentials_email_overdue(
        self, request_id: str, identifier: str, actor: str, timestamp: datetime
    ) -> None:
        self.credentials_request(request_id).overdue = True
