"""What the mail workers ask before and record after each e-mail: a fresh temporary password
or verification code (its plain value exists only in the worker's memory and in the e-mail),
the address of a notice, the outcome of every send. A message run twice sends once."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from domain.account import CAPPED_REASONS, Account
from domain.credentials import (
    generate_temporary_password,
    generate_verification_code,
    token_digest,
)
from domain.indexes import EmailVerificationIndex
from domain.lifecycle import AccountLifecycle, patient, retried
from domain.mail import MailOutcome
from domain.personal_data import ERASED
from domain.ports import Ports
from domain.use_cases.views import IssuedCredentials, IssuedVerification, Notice

TEMPORARY_PASSWORD_LIFETIME = timedelta(hours=24)


class MailDelivery:
    def __init__(self, store: AccountLifecycle, ports: Ports):
        self.store = store
        self.hasher = ports.hasher
        self.clock = ports.clock

    # Credentials.

    def issue_temporary_password(
        self, account_id: UUID, request_id: str
    ) -> IssuedCredentials | None:
        """A fresh temporary password for a request still owed its e-mail, or None when nothing
        is to be sent. It is hashed once, before the retried save: with bcrypt (a quarter of a
        second at cost 12) between the load and the save, a member's sign-ins, each a save of
        the same account, won every race, and the new password, which cancels the older one,
        was not recorded for as long as they went on."""
        account = self.store.account(account_id)
        if not is_owed_an_email(account, request_id):
            return None  # sent already, superseded, or closed: no bcrypt for a message run twice
        password = generate_temporary_password()
        password_hash = self.hasher.hash(password)
        return self._record_temporary_password(
            account_id, request_id, password, password_hash, [account]
        )

    @patient
    @retried
    def _record_temporary_password(
        self, account_id: UUID, request_id: str, password: str, password_hash: str,
        loaded: list[Account],
    ) -> IssuedCredentials | None:
        """Decided again on the state this attempt saves: a lost race runs it again. The first
        attempt saves the account loaded before the hash (taken from `loaded`): a writer that
        came in between wins on its version, and the next attempt loads afresh."""
        account = loaded.pop() if loaded else self.store.account(account_id)
        if not is_owed_an_email(account, request_id):
            return None
        at = self.clock()
        account.issue_temporary_password(
            request_id, password_hash=password_hash,
            expires_at=at + TEMPORARY_PASSWORD_LIFETIME, at=at,
        )
        self.store.save(account)
        reason = account.credentials_request(request_id).reason
        return IssuedCredentials(account.identifier, account.email, password, reason, [account])

    def record_credentials_email(
        self, account_id: UUID, request_id: str, error: str | None = None,
        issued: IssuedCredentials | None = None,
    ) -> None:
        """The e-mail's outcome. Given what issue_temporary_password returned, the first
        attempt takes and saves the account that save left (no read of the store, nor a copy
        of the kept one: a fifth of the mail worker's database round trips); a writer that
        came in between wins on its version, and the next attempt loads afresh."""
        self._record_credentials_email(
            account_id, request_id, error, issued.saved if issued is not None else []
        )

    @patient
    @retried
    def _record_credentials_email(
        self, account_id: UUID, request_id: str, error: str | None, loaded: list[Account]
    ) -> None:
        # Else the kept account, fast-forwarded by the one event its password added: a query
        # instead of the snapshot's, the events' and their replay.
        account = loaded.pop() if loaded else self.store.account(account_id)
        if error is None:
            account.record_credentials_email_sent(request_id, self.clock())
        else:
            account.record_credentials_email_failed(request_id, error, self.clock())
        self.store.save(account)

    @retried
    def flag_credentials_overdue(self, account_id: UUID, request_id: str) -> None:
        account = self.store.account(account_id)
        account.flag_credentials_overdue(request_id, self.clock())
        self.store.save(account)

    def is_credentials_request_unattempted(self, account_id: UUID, request_id: str) -> bool:
        account = self.store.get_or_none(account_id)
        return isinstance(account, Account) and account.is_credentials_request_unattempted(
            request_id
        )

    def pending_credentials_requests(self, account_id: UUID) -> list[str]:
        """The newest request, while unsent (the one the reconciler and support watch)."""
        account: Account = self.store.repository.get(account_id)
        return [
            r.request_id
            for r in account.credentials_requests
            if account.is_credentials_request_pending(r.request_id)
        ]

    # E-mail verification codes.

    @retried
    def issue_email_verification(
        self, account_id: UUID, request_id: str
    ) -> IssuedVerification | None:
        """A fresh code for a pending e-mail change, or None."""
        account = self.store.account(account_id)
        if not account.is_email_change_pending(request_id):
            return None
        code = generate_verification_code()
        digest = token_digest(code)
        account.issue_email_verification(request_id, digest, self.clock())
        index = EmailVerificationIndex(
            token_hash=digest, account_id=account_id, actor="system:mailer",
            timestamp=self.clock(),
        )
        self.store.save(account, index)
        return IssuedVerification(account.email_change.new_email, code)

    def is_email_verification_unattempted(self, account_id: UUID, request_id: str) -> bool:
        account = self.store.get_or_none(account_id)
        return isinstance(account, Account) and account.is_email_verification_unattempted(
            request_id
        )

    # Notices and rejection e-mails.

    def notice_to_send(
        self, account_id: UUID, version: int, to: str | None = None
    ) -> Notice | None:
        """The notice of the account's event at `version`, to `to` when the message carries
        the address (read before an erasure), or None: its outcome is recorded, or nobody is
        left to tell (recorded now)."""
        if version in self.store.account(account_id).notified_versions:
            return None
        [event] = self.store.events.get(account_id, gt=version - 1, lte=version)
        kind = type(event).__name__
        if to is None:
            # The old address is told of a change; otherwise the address of the time.
            to = event.old if kind == "EmailChanged" else (
                self.store.repository.get(account_id, version=version).email
            )
        if to == ERASED:
            self.record_notice(account_id, version, MailOutcome.NO_RECIPIENT)
            return None
        # The event's own end of the lock: a later lock or unlock does not change this one's.
        until = event.until if kind == "AccountLocked" else None
        return Notice(kind, to, locked_until=until)

    @patient
    @retried
    def record_notice(self, account_id: UUID, version: int, outcome: str) -> None:
        account = self.store.account(account_id)
        account.record_notice(version, outcome, self.clock())
        self.store.save(account)

    def rejection_to_send(self, registration_id: UUID) -> str | None:
        """The address to tell of a rejected registration, or None: its outcome is recorded,
        or nobody is left to tell (recorded now)."""
        enrollment = self.store.enrollment(registration_id)
        if enrollment.rejection_email is not None:
            return None
        if enrollment.email == ERASED:
            self.record_rejection_email(registration_id, MailOutcome.NO_RECIPIENT)
            return None
        return enrollment.email

    @retried
    def record_rejection_email(self, registration_id: UUID, outcome: str) -> None:
        enrollment = self.store.enrollment(registration_id)
        enrollment.record_rejection_email(outcome, self.clock())
        self.store.save(enrollment)


def is_owed_an_email(account: Account, request_id: str) -> bool:
    """Whether a credentials request still gets its e-mail: the newest unsent one does, and so
    does an older unsent one that the cap counted (a registration, its retry, a recovery).
    The cap counts requests, so one that a newer request superseded before its worker ran
    would leave the member with fewer e-mails than it allows (a burst of recoveries sent 2
    where 3 are due). Its worker draws a password too: the one drawn last signs in, as when
    the requests come minutes apart. Support's requests are not capped, and still superseded."""
    if account.is_credentials_request_pending(request_id):
        return True
    request = account.credentials_request(request_id)
    return (
        request is not None and account.is_open and not request.sent
        and request.reason in CAPPED_REASONS
    )
