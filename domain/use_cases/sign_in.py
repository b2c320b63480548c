"""Sign-in and the passwords: checking a password (the lockout counts every wrong one),
sessions opened and ended, the forced change of a temporary password, the secret question."""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from uuid import UUID

from domain.account import Account
from domain.credentials import PasswordHasher, normalise_secret_answer, password_problems
from domain.errors import (
    AccountClosedError,
    AccountLockedError,
    CredentialsChangedError,
    InvalidCredentialsError,
    PasskeyRequiredError,
    WeakPasswordError,
    WrongPasswordError,
)
from domain.lifecycle import AccountLifecycle, retried
from domain.ports import Ports
from domain.use_cases.views import Authenticated, OpenedSession


class SignIn:
    def __init__(self, store: AccountLifecycle, ports: Ports):
        self.store = store
        self.directory = ports.directory
        self.hasher = ports.hasher
        self.strength = ports.strength
        self.sessions = ports.sessions
        self.clock = ports.clock

    def sign_in(self, identifier: str, password: str) -> OpenedSession:
        who = self.authenticate(identifier, password)
        token, expires_at = self.sessions.open(who.account_id, who.identifier, who.temporary)
        return OpenedSession(token, expires_at, must_change_password=who.temporary)

    def sign_out(self, session_digest: str) -> None:
        self.sessions.revoke(session_digest)

    def authenticate(self, identifier: str, password: str) -> Authenticated:
        """Check a sign-in; every failure is the same InvalidCredentialsError. Every sign-in
        costs one bcrypt verification (`matched_hash`), known identifier or not, locked,
        closed or not, and only a wrong password for an open account that is not locked
        writes (SignInFailed, which the lockout counts)."""
        account = self.store.account_by_identifier(identifier)
        at = self.clock()
        if account is None:
            self.hasher.verify(password, None)  # the decoy: the work of an account's check
            raise InvalidCredentialsError(identifier)
        checked = matched_hash(self.hasher, account, password, at)
        if not account.is_open or account.is_locked(at):
            raise InvalidCredentialsError(identifier)
        try:
            if checked is None:
                self.store.update(account, lambda a: a.fail_sign_in(self.clock(), "sign_in"))
                raise InvalidCredentialsError(identifier)
            # The account decides at the save whether a right password still lets in: it may
            # have been locked, or that password replaced, while bcrypt ran.
            self.store.update(account, lambda a: a.sign_in(checked, self.clock()))
        except (
            AccountLockedError, CredentialsChangedError, AccountClosedError, PasskeyRequiredError
        ):
            raise InvalidCredentialsError(identifier) from None
        temporary = checked == account.temp_password_hash
        return Authenticated(account.id, account.identifier, temporary)

    def confirm_password(self, account_id: UUID, password: str, field: str) -> tuple[Account, str]:
        """A password that confirms a change, and the hash it matched: the change checks it
        again at its own save (`confirmed`). A wrong one counts toward the lockout. One
        bcrypt verification, like a sign-in."""
        account = self.store.account(account_id)
        at = self.clock()
        checked = matched_hash(self.hasher, account, password, at)
        if account.is_locked(at):
            # A session opened before the lock cannot go on guessing while it lasts.
            raise WrongPasswordError(field)
        if checked is None:
            # Locked meanwhile by another guess: the same answer, and this one is not counted.
            with suppress(AccountLockedError, AccountClosedError):
                self.store.update(account, lambda a: a.fail_sign_in(self.clock(), field))
            raise WrongPasswordError(field)
        return account, checked

    def confirmed(self, account: Account, checked_hash: str, field: str) -> None:
        """Inside a confirmed change's save: the account is not locked and the password that
        confirmed it still signs in; otherwise the same answer as a wrong password."""
        try:
            account.check_password(checked_hash, self.clock())
        except (AccountLockedError, CredentialsChangedError):
            raise WrongPasswordError(field) from None

    def change_password(
        self, account_id: UUID, current: str, new: str, session_digest: str | None = None
    ) -> None:
        """Replace the password (the temporary one at first sign-in). The other sessions end
        before the change is recorded, so a failure leaves none that should be gone; the
        session that made it, `session_digest`, stays and is no longer a temporary one."""
        account, checked = self.confirm_password(account_id, current, "current_password")
        entry = self.directory.find(account.member_number)
        personal = [account.identifier, account.email.rpartition("@")[0]]
        if entry is not None:
            personal += [entry.last_name, entry.first_name]
        problems = password_problems(
            new, current=current, personal_data=personal, check=self.strength
        )
        if problems:
            raise WeakPasswordError(problems)
        password_hash = self.hasher.hash(new)
        # The checks above took time (bcrypt, zxcvbn): had another change replaced the password
        # meanwhile, the one confirmed here is no longer current, as in any serial order.
        self.confirmed(self.store.account(account_id), checked, "current_password")
        self.sessions.revoke_all(account_id, keep=session_digest)
        self._record_password(account_id, password_hash, checked)
        if session_digest is not None:
            self.sessions.end_temporary(session_digest)

    @retried
    def _record_password(self, account_id: UUID, password_hash: str, checked: str) -> None:
        account = self.store.account(account_id)
        self.confirmed(account, checked, "current_password")
        account.change_password(password_hash, self.clock())
        self.store.save(account)

    def set_secret_question(
        self, account_id: UUID, question: str, answer: str, password: str
    ) -> None:
        _, checked = self.confirm_password(account_id, password, "password")
        answer_hash = self.hasher.hash(normalise_secret_answer(answer))
        self._record_secret_question(account_id, question, answer_hash, checked)

    @retried
    def _record_secret_question(
        self, account_id: UUID, question: str, answer_hash: str, checked: str
    ) -> None:
        account = self.store.account(account_id)
        self.confirmed(account, checked, "password")
        account.set_secret_question(question, answer_hash, account.actor, self.clock())
        self.store.save(account)


def matched_hash(
    hasher: PasswordHasher, account: Account, password: str, at: datetime
) -> str | None:
    """The hash the password matched (the member's own or the temporary one), or None. One
    bcrypt verification, against the one hash the account says the password is for, or
    against the decoy when it has none: the same work whatever the account holds, so a locked
    or closed account is checked too (its answer is refused all the same)."""
    hashed, candidate = account.hash_for(password, at)
    return hashed if hasher.verify(candidate, hashed) else None
