"""Account: one member's access to the portal, from opening to closure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import (
    AccountClosedError,
    CredentialsEmailCapError,
    EmailVerificationInvalidError,
    InvalidTransitionError,
)
from domain.mail import MailOutcome
from domain.personal_data import PERSONAL_STATE
from domain.states import AccountStatus, check_transition

CREDENTIALS_EMAIL_CAP = 3
CREDENTIALS_EMAIL_WINDOW = timedelta(hours=24)
FAILURES_BEFORE_LOCK = 5
LOCK_DURATION = timedelta(minutes=15)
SECRET_ANSWER_ATTEMPTS = 3
SECRET_ANSWER_WINDOW = timedelta(hours=24)
EMAIL_VERIFICATION_LIFETIME = timedelta(hours=24)
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
    overdue: bool = False


@dataclass
class EmailChange:
    request_id: str
    new_email: str
    requested_at: datetime
    token_digest: str | None = None
    expires_at: datetime | None = None


class Account(Aggregate):
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

    def is_credentials_request_unattempted(self, request_id: str) -> bool:
        """Pending and never tried: no worker has issued a password for it. A request still
        like that long after it was made lost its message (a broker restarted empty, an
        in-process queue whose process died); one that was tried has a live message retrying."""
        request = self.credentials_request(request_id)
        return self.is_credentials_request_pending(request_id) and not request.issued

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

    def flag_credentials_overdue(self, request_id: str, at: datetime) -> None:
        """The mail server has not accepted this request's e-mail an hour after it was due."""
        request = self.credentials_request(request_id)
        if request is None or request.sent or request.overdue:
            return
        self.credentials_email_overdue(
            request_id=request_id, identifier=self.identifier, actor="system:mail-check",
            timestamp=at,
        )

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

    # Sign-in and lockout.

    @property
    def actor(self) -> str:
        return f"member:{self.identifier}"

    def is_locked(self, at: datetime) -> bool:
        return self.locked_until is not None and at < self.locked_until

    def usable_temporary_hash(self, at: datetime) -> str | None:
        """The temporary password's hash while it may still sign in (24 hours at most)."""
        if self.temp_password_expires_at is None or at >= self.temp_password_expires_at:
            return None
        return self.temp_password_hash

    def sign_in(self, with_temporary: bool, at: datetime) -> None:
        self._check_open()
        self.signed_in(with_temporary=with_temporary, actor=self.actor, timestamp=at)

    def fail_sign_in(self, at: datetime, context: str = "sign_in") -> None:
        """A wrong password; the fifth in a row locks the account for 15 minutes."""
        self._check_open()
        self.sign_in_failed(context=context, actor=self.actor, timestamp=at)
        if self.failed_sign_ins >= FAILURES_BEFORE_LOCK:
            self.account_locked(until=at + LOCK_DURATION, actor="system:lockout", timestamp=at)

    def unlock(self, agent: str, at: datetime) -> None:
        self._check_open()
        self.account_unlocked(agent=agent, actor=f"support:{agent}", timestamp=at)

    def change_password(self, password_hash: str, at: datetime) -> None:
        self._check_open()
        self.password_changed(password_hash=password_hash, actor=self.actor, timestamp=at)

    # Recovery ("Codes d'accès oubliés ?").

    def is_secret_answer_path_closed(self, at: datetime) -> bool:
        recent = [t for t in self.secret_answer_failures if at - t < SECRET_ANSWER_WINDOW]
        return len(recent) >= SECRET_ANSWER_ATTEMPTS

    def request_recovery(self, outcome: str, at: datetime) -> None:
        self._check_open()
        self.recovery_requested(outcome=outcome, actor="system:recovery", timestamp=at)

    # E-mail change ("Modifier mes infos").

    def request_email_change(self, request_id: str, new_email: str, at: datetime) -> None:
        self._check_open()
        self.email_change_requested(
            request_id=request_id, new_email=new_email, actor=self.actor, timestamp=at
        )

    def is_email_change_pending(self, request_id: str) -> bool:
        return (
            self.is_open
            and self.email_change is not None
            and self.email_change.request_id == request_id
        )

    def is_email_verification_unattempted(self, request_id: str) -> bool:
        """Pending and no code ever drawn for it: its message was lost (see credentials)."""
        return self.is_email_change_pending(request_id) and self.email_change.token_digest is None

    def issue_email_verification(
        self, request_id: str, token_digest: str, at: datetime
    ) -> None:
        if not self.is_email_change_pending(request_id):
            raise EmailVerificationInvalidError(request_id)
        self.email_verification_issued(
            request_id=request_id,
            token_hash=token_digest,
            expires_at=at + EMAIL_VERIFICATION_LIFETIME,
            actor="system:email_verification",
            timestamp=at,
        )

    def verify_email(self, token_digest: str, at: datetime) -> None:
        """The newest code of the pending change, unexpired and unused, makes the change."""
        change = self.email_change
        if (
            not self.is_open
            or change is None
            or change.token_digest != token_digest
            or change.expires_at is None
            or at >= change.expires_at
        ):
            raise EmailVerificationInvalidError("unknown, used or expired code")
        self.change_email(change.new_email, "member", self.actor, at)

    def set_alerts(self, reimbursements: bool, at: datetime) -> None:
        self._check_open()
        if reimbursements != self.alerts_reimbursements:
            self.alerts_preference_changed(
                reimbursements=reimbursements, actor=self.actor, timestamp=at
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
