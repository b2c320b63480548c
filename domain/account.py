"""Account: one member's access to the portal, from opening to closure.

Here are the account's state, its opening, and every one of its events: they stay in
Account's own class body because that names their stored topics
(domain.account:Account.<Name>). Its commands and questions come from its bases, by what they
are about: domain/account_settings.py (closure, settings, notices), account_credentials.py,
account_email_change.py and account_passkeys.py; their limits, and the pending requests of
domain/account_requests.py, are still exported from here.
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
from domain.account_passkeys import Passkey, PasskeysMixin, before_passkeys
from domain.account_requests import CredentialsRequest, EmailChange
from domain.account_settings import SettingsMixin
from domain.errors import AccountClosedError
from domain.personal_data import PERSONAL_STATE
from domain.states import AccountStatus

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


class Account(SettingsMixin, CredentialsMixin, EmailChangeMixin, PasskeysMixin, Aggregate):
    # v2: passkeys, recovery codes and the passkey requirement (domain/account_passkeys.py).
    class_version = 2
    upcast_v1_v2 = staticmethod(before_passkeys)

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
        self.passkeys: list[Passkey] = []
        self.recovery_code_hashes: list[str | None] = []  # None: that code is spent
        self.passkey_required = False

    @property
    def is_open(self) -> bool:
        return self.status == AccountStatus.ACTIVE  # == : a snapshot gives back a plain str

    def _check_open(self) -> None:
        if not self.is_open:
            raise AccountClosedError(self.identifier)

    @property
    def actor(self) -> str:
        return f"member:{self.identifier}"

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

    @event("PasskeyAdded")
    def passkey_added(
        self, credential_id: str, public_key: str, sign_count: int, name: str, actor: str,
        timestamp: datetime,
    ) -> None:
        added = Passkey(credential_id, public_key, sign_count, name, timestamp)
        self.passkeys = [*self.passkeys, added]

    @event("PasskeyRemoved")
    def passkey_removed(self, credential_id: str, actor: str, timestamp: datetime) -> None:
        self.passkeys = [p for p in self.passkeys if p.credential_id != credential_id]

    @event("PasskeyRequirementSet")
    def passkey_requirement_set(self, required: bool, actor: str, timestamp: datetime) -> None:
        self.passkey_required = required

    @event("RecoveryCodesGenerated")
    def recovery_codes_generated(
        self, code_hashes: list[str], actor: str, timestamp: datetime
    ) -> None:
        self.recovery_code_hashes = list(code_hashes)

    @event("SignedInWithPasskey")
    def signed_in_with_passkey(
        self, credential_id: str, sign_count: int, actor: str, timestamp: datetime
    ) -> None:
        self._with_passkey_used(credential_id, sign_count, timestamp)
        self.has_signed_in = True
        self.failed_sign_ins = 0

    @event("SignedInWithRecoveryCode")
    def signed_in_with_recovery_code(
        self, code_index: int, codes_left: int, actor: str, timestamp: datetime
    ) -> None:
        codes = list(self.recovery_code_hashes)
        codes[code_index] = None
        self.recovery_code_hashes = codes
        self.has_signed_in = True
        self.failed_sign_ins = 0

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

    @event("SessionEnded")
    def session_ended(self, device: str, actor: str, timestamp: datetime) -> None:
        pass

    @event("PersonalDataExported")
    def personal_data_exported(self, actor: str, timestamp: datetime) -> None:
        pass

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


# Every way a member signs in: the "last sign-in" of the console, the audit state and the
# export is the newest of these.
SIGN_INS = (Account.SignedIn, Account.SignedInWithPasskey, Account.SignedInWithRecoveryCode)
