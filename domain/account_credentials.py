"""Credentials, sign-in and lockout of an account: their limits and the Account methods that
apply them.

`CredentialsMixin` is a base of Account and adds no state: it reads what Account's `__init__`
and events set, and records through Account's event methods, which stay in Account's own class
body so that their topics stay domain.account:Account.<Name>.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.account_requests import CredentialsRequest
from domain.credentials import looks_temporary
from domain.errors import (
    AccountLockedError,
    CredentialsChangedError,
    CredentialsEmailCapError,
    PasskeyRequiredError,
    SecretAnswerPathClosedError,
)

CREDENTIALS_EMAIL_CAP = 3
CREDENTIALS_EMAIL_WINDOW = timedelta(hours=24)
FAILURES_BEFORE_LOCK = 5
LOCK_DURATION = timedelta(minutes=15)
SECRET_ANSWER_ATTEMPTS = 3
SECRET_ANSWER_WINDOW = timedelta(hours=24)
# Support re-sends are not capped (CONTRACT.md, "Rules in detail").
CAPPED_REASONS = frozenset({"registration", "registration_retry", "recovery"})


class CredentialsMixin:
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

    def flag_credentials_overdue(self, request_id: str, at: datetime) -> None:
        """The mail server has not accepted this request's e-mail an hour after it was due."""
        request = self.credentials_request(request_id)
        if request is None or request.sent or request.overdue:
            return
        self.credentials_email_overdue(
            request_id=request_id, identifier=self.identifier, actor="system:mail-check",
            timestamp=at,
        )

    # Sign-in and lockout.

    def is_locked(self, at: datetime) -> bool:
        return self.locked_until is not None and at < self.locked_until

    def usable_temporary_hash(self, at: datetime) -> str | None:
        """The temporary password's hash while it may still sign in (24 hours at most)."""
        if self.temp_password_expires_at is None or at >= self.temp_password_expires_at:
            return None
        return self.temp_password_hash

    def hash_for(self, password: str, at: datetime) -> tuple[str | None, str]:
        """The one hash a typed password is checked against, and the form it is checked in,
        chosen from what the account holds and the shape of what was typed, never by trying
        one hash and then another: so a sign-in costs one bcrypt verification, whatever the
        account holds. None: the account has no password that may sign in.

        After a recovery the temporary password and the member's own both sign in until the
        temporary one is used (CONTRACT.md, "Recovery"). What has a temporary password's
        shape once the white space of a paste is trimmed is checked against the temporary
        one, anything else against the own one, as typed. An own password is 12 characters
        at least, so only one made of such a shape padded with white space would be taken
        for a paste, and only while a temporary password is live."""
        temporary = self.usable_temporary_hash(at)
        pasted = password.strip()
        if temporary is not None and (self.password_hash is None or looks_temporary(pasted)):
            return temporary, pasted
        return self.password_hash, password

    def check_password(self, checked_hash: str, at: datetime) -> bool:
        """The guard of everything a right password lets through, run on the state being
        saved (a concurrent request may have locked the account, or replaced the password,
        while bcrypt ran): not locked, and the password checked still signs in. True when it
        is the temporary one."""
        if self.is_locked(at):
            raise AccountLockedError(self.identifier)
        if checked_hash == self.password_hash:
            return False
        if checked_hash == self.usable_temporary_hash(at):
            return True
        raise CredentialsChangedError(self.identifier)

    def sign_in(self, checked_hash: str, at: datetime) -> None:
        """The password whose hash is `checked_hash` was right when bcrypt checked it. A
        member who requires a passkey is not let in by a password alone, temporary or not."""
        self._check_open()
        if self.passkey_required:
            raise PasskeyRequiredError(self.identifier)
        with_temporary = self.check_password(checked_hash, at)
        self.signed_in(with_temporary=with_temporary, actor=self.actor, timestamp=at)

    def fail_sign_in(self, at: datetime, context: str = "sign_in") -> None:
        """A wrong password; the fifth in a row locks the account for 15 minutes. While it is
        locked, no wrong password is counted: each answer is the same refusal."""
        self._check_open()
        if self.is_locked(at):
            raise AccountLockedError(self.identifier)
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

    def fail_secret_answer(self, at: datetime) -> None:
        """A wrong secret answer; the third in 24 hours closes that path. Once it is closed an
        answer is not counted, right or wrong: the request is recorded as refused."""
        closed = self.is_secret_answer_path_closed(at)
        self.request_recovery("secret_answer_path_closed" if closed else "wrong_secret_answer", at)

    def recover_to_new_address(self, request_id: str, new_email: str, at: datetime) -> None:
        """A right secret answer: new credentials, sent to a new address. Refused when the path
        is closed at the save (three wrong answers may have closed it while bcrypt checked this
        one) or the credentials e-mails are capped; nothing is recorded then."""
        self._check_open()
        if self.is_secret_answer_path_closed(at):
            raise SecretAnswerPathClosedError(self.identifier)
        self.request_credentials(request_id, "recovery", "system:recovery", at)
        self.change_email(new_email, "recovery", "system:recovery", at)
        self.request_recovery("email_changed", at)
