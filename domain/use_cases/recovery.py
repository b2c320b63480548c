"""Forgotten credentials ("Codes d'accès oubliés ?"), with the secret question's way to a new
address, and the member's own e-mail change confirmed by a code sent there."""

from __future__ import annotations

import uuid
from uuid import UUID

from domain.account import Account
from domain.credentials import names_match, normalise_code, normalise_secret_answer, token_digest
from domain.errors import (
    AccountClosedError,
    ConcurrencyError,
    CredentialsEmailCapError,
    EmailVerificationInvalidError,
    SecretAnswerPathClosedError,
)
from domain.indexes import EmailVerificationIndex
from domain.lifecycle import AccountLifecycle, patient, retried
from domain.ports import Ports
from domain.use_cases.sign_in import SignIn
from domain.use_cases.views import RecoveryRequest

SYSTEM = "system:recovery"


class Recovery:
    def __init__(self, store: AccountLifecycle, ports: Ports, sign_in: SignIn):
        self.store = store
        self.directory = ports.directory
        self.subjects = ports.subjects
        self.hasher = ports.hasher
        self.clock = ports.clock
        self.sign_in = sign_in

    def recover(self, request: RecoveryRequest) -> None:
        """Whatever happens, the caller answers the same (and at the same cost)."""
        account = self._recoverable_account(request)
        with_answer = request.secret_answer is not None
        if account is None:
            if with_answer:
                self.hasher.verify(normalise_secret_answer(request.secret_answer), None)
            return
        # Checked before the path is looked at: a closed path answering without bcrypt's work
        # would tell, by its time, that this member has an account.
        checked = with_answer and self.hasher.verify(
            normalise_secret_answer(request.secret_answer), account.secret_answer_hash
        )
        right = checked and not account.is_secret_answer_path_closed(self.clock())
        try:
            if account.passkey_required:
                # A password, temporary or not, no longer signs in, and a new address is the
                # first step of a takeover: a recovery code or support restores access.
                self._record_outcome(account.id, "passkey_required")
            elif not with_answer:
                self._send_credentials(account.id)
            elif right:
                self._send_credentials_elsewhere(account.id, request.new_email)
            else:
                self._record_wrong_answer(account.id)
        except ConcurrencyError:
            # A burst at one account kept winning the race, round after round (`patient`):
            # nothing is recorded, and the answer is the one anybody gets (a 409 would tell
            # that the member has an account).
            return

    # Each records what a check decided: given up, a wrong answer checked would not count,
    # and a request for credentials would send nothing (a stream of sign-ins on the account
    # won every one of `retried`'s attempts at cost 4 on PostgreSQL).

    @patient
    @retried
    def _record_wrong_answer(self, account_id: UUID) -> None:
        account = self.store.account(account_id)
        account.fail_secret_answer(self.clock())
        self.store.save(account)

    @patient
    @retried
    def _record_outcome(self, account_id: UUID, outcome: str) -> None:
        account = self.store.account(account_id)
        account.request_recovery(outcome, self.clock())
        self.store.save(account)

    @patient
    @retried
    def _send_credentials(self, account_id: UUID) -> None:
        """New credentials by e-mail, to the address the account has."""
        account = self.store.account(account_id)
        at = self.clock()
        try:
            account.request_credentials(uuid.uuid4().hex, "recovery", SYSTEM, at)
            account.request_recovery("credentials_sent", at)
        except CredentialsEmailCapError:
            account.request_recovery("capped", at)
        self.store.save(account)

    @patient
    @retried
    def _send_credentials_elsewhere(self, account_id: UUID, new_email: str) -> None:
        """New credentials to `new_email`, which the right secret answer allows, unless the
        account refuses it at this save (the path closed, or the e-mails capped)."""
        account = self.store.account(account_id)
        at = self.clock()
        try:
            account.recover_to_new_address(uuid.uuid4().hex, new_email, at)
        except SecretAnswerPathClosedError:
            account.request_recovery("secret_answer_path_closed", at)
        except CredentialsEmailCapError:
            account.request_recovery("capped", at)
        self.store.save(account)

    def _recoverable_account(self, request: RecoveryRequest) -> Account | None:
        entry = self.directory.find(request.member_number)
        if entry is None or entry.birth_date != request.birth_date:
            return None
        declared = (request.last_name, request.first_name)
        if not names_match(*declared, entry.last_name, entry.first_name):
            return None
        subject = self.subjects.find(request.member_number)
        index = self.store.index_or_none(subject) if subject is not None else None
        if index is None or index.account_id is None:
            return None
        account = self.store.account(index.account_id)
        return account if account.is_open else None

    def request_email_change(self, account_id: UUID, new_email: str, password: str) -> None:
        """A code goes to the new address (mail_delivery.py); the change waits for it."""
        _, checked = self.sign_in.confirm_password(account_id, password, "password")
        self._request_email_change(account_id, uuid.uuid4().hex, new_email, checked)

    @retried
    def _request_email_change(
        self, account_id: UUID, request_id: str, new_email: str, checked: str
    ) -> None:
        account = self.store.account(account_id)
        self.sign_in.confirmed(account, checked, "password")
        account.request_email_change(request_id, new_email, self.clock())
        self.store.save(account)

    def verify_email(self, code: str) -> str:
        """Make the change a code was sent for; returns the new address."""
        digest = token_digest(normalise_code(code))
        index = self.store.index_or_none(EmailVerificationIndex.create_id(digest))
        if index is None:
            raise EmailVerificationInvalidError("unknown code")
        try:
            return self._verify_email(index.account_id, digest)
        except AccountClosedError:
            raise EmailVerificationInvalidError("closed account") from None

    @retried
    def _verify_email(self, account_id: UUID, digest: str) -> str:
        account = self.store.account(account_id)
        account.verify_email(digest, self.clock())
        self.store.save(account)
        return account.email
