"""Passkeys and recovery codes (issue 20): adding, listing and removing passkeys, requiring
one, signing in with one alone (discoverable: no identifier typed) or with a recovery code,
and re-authenticating before a sensitive change.

Every ceremony answers a challenge this service handed out for that purpose, once
(Challenges.consume), and the library checks origin, relying party and signature
(PasskeyCeremonies) before the account decides anything. Failures to sign in are all the
same InvalidCredentialsError, as with a password.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from domain.account import Account
from domain.account_passkeys import RECOVERY_CODES
from domain.credentials import generate_recovery_code, recovery_code_digest
from domain.errors import (
    AccountClosedError,
    AccountLockedError,
    AccountNotFoundError,
    FieldError,
    InvalidCredentialsError,
    PasskeyRefusedError,
    ReauthenticationRequiredError,
)
from domain.lifecycle import AccountLifecycle, retried
from domain.passkey_ports import Challenges, PasskeyCeremonies
from domain.passkey_types import NewPasskey
from domain.ports import Ports
from domain.use_cases.views import OpenedSession

# A sensitive change needs a proof of identity this recent (issue 20, item 3).
REAUTHENTICATION_WINDOW = timedelta(minutes=5)
REGISTER, SIGN_IN, REAUTHENTICATE = "register", "sign_in", "reauthenticate"
WRONG_CODE = "Code de secours incorrect ou déjà utilisé."


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class PasskeyView:
    passkey_id: str  # the credential id (base64url): public, the browser names it so
    name: str
    added_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True)
class PasskeysView:
    passkeys: list[PasskeyView]
    required: bool
    recovery_codes_left: int


@dataclass(frozen=True)
class AddedPasskey:
    passkey: PasskeyView
    recovery_codes: list[str]  # shown once, with the first passkey; empty otherwise


def viewed(account: Account) -> PasskeysView:
    return PasskeysView(
        [PasskeyView(p.credential_id, p.name, p.added_at, p.last_used_at)
         for p in account.passkeys],
        account.passkey_required, account.recovery_codes_left,
    )


class Passkeys:
    def __init__(self, store: AccountLifecycle, ports: Ports):
        self.store = store
        self.sessions = ports.sessions
        self.clock = ports.clock
        self.ceremonies: PasskeyCeremonies = ports.ceremonies  # type: ignore[assignment]
        self.challenges: Challenges = ports.challenges  # type: ignore[assignment]

    def check_recent(self, authenticated_at: datetime) -> None:
        if self.clock() - authenticated_at > REAUTHENTICATION_WINDOW:
            raise ReauthenticationRequiredError()

    # The member's own passkeys.

    def listed(self, account_id: UUID) -> PasskeysView:
        return viewed(self.store.account_to_show(account_id))

    def registration_options(self, account_id: UUID, authenticated_at: datetime) -> str:
        self.check_recent(authenticated_at)
        account = self.store.account_to_show(account_id)
        options, challenge = self.ceremonies.registration_options(
            account_id.bytes, account.identifier, f"Espace Client {account.identifier}",
            [unb64url(p.credential_id) for p in account.passkeys],
        )
        self.challenges.issue(challenge, REGISTER, account_id)
        return options

    def add(
        self, account_id: UUID, name: str, response: dict[str, Any], authenticated_at: datetime
    ) -> AddedPasskey:
        self.check_recent(authenticated_at)
        challenge = self.ceremonies.challenge_of(response)
        live, issued_for = self.challenges.consume(challenge or b"", REGISTER)
        if not live or issued_for != account_id:
            raise PasskeyRefusedError("no live registration challenge for this account")
        new = self.ceremonies.verify_registration(response, challenge or b"")
        codes = [generate_recovery_code() for _ in range(RECOVERY_CODES)]
        added, with_codes = self._record_passkey(account_id, name, new, codes)
        return AddedPasskey(added, codes if with_codes else [])

    @retried
    def _record_passkey(
        self, account_id: UUID, name: str, new: NewPasskey, codes: list[str]
    ) -> tuple[PasskeyView, bool]:
        """The passkey as recorded, and whether the codes came with it: the state saved
        decides, should another first passkey have been added meanwhile."""
        account = self.store.account(account_id)
        first = account.needs_recovery_codes
        hashes = [recovery_code_digest(code) or "" for code in codes] if first else None
        account.add_passkey(
            b64url(new.credential_id), b64url(new.public_key), new.sign_count, name,
            self.clock(), hashes,
        )
        self.store.save(account)
        return viewed(account).passkeys[-1], first

    @retried
    def remove(self, account_id: UUID, passkey_id: str, authenticated_at: datetime) -> None:
        self.check_recent(authenticated_at)
        account = self.store.account(account_id)
        if account.passkey(passkey_id) is None:
            raise AccountNotFoundError(passkey_id)  # the API's 404: unknown or not theirs
        account.remove_passkey(passkey_id, self.clock())
        self.store.save(account)

    @retried
    def require(self, account_id: UUID, required: bool, authenticated_at: datetime) -> bool:
        self.check_recent(authenticated_at)
        account = self.store.account(account_id)
        account.require_passkey(required, account.actor, self.clock())
        self.store.save(account)
        return account.passkey_required

    def regenerate_recovery_codes(self, account_id: UUID, authenticated_at: datetime) -> list[str]:
        self.check_recent(authenticated_at)
        codes = [generate_recovery_code() for _ in range(RECOVERY_CODES)]
        self._record_codes(account_id, [recovery_code_digest(code) or "" for code in codes])
        return codes

    @retried
    def _record_codes(self, account_id: UUID, hashes: list[str]) -> None:
        account = self.store.account(account_id)
        account.regenerate_recovery_codes(hashes, self.clock())
        self.store.save(account)

    # Signing in without a password.

    def sign_in_options(self) -> str:
        options, challenge = self.ceremonies.authentication_options([])
        self.challenges.issue(challenge, SIGN_IN, None)
        return options

    def sign_in(self, response: dict[str, Any]) -> OpenedSession:
        """A passkey alone: the authenticator names the account (its user handle)."""
        try:
            account = self._asserted(response, SIGN_IN, None)
        except (PasskeyRefusedError, AccountClosedError, AccountNotFoundError):
            raise InvalidCredentialsError("passkey") from None
        token, expires_at = self.sessions.open(account.id, account.identifier, False)
        return OpenedSession(token, expires_at, must_change_password=False)

    def sign_in_with_code(self, identifier: str, typed: str) -> OpenedSession:
        """A recovery code in place of a passkey; a wrong one counts toward the lockout, as a
        wrong password does."""
        account = self.store.account_by_identifier(identifier)
        if account is None or not account.is_open or account.is_locked(self.clock()):
            raise InvalidCredentialsError(identifier)
        try:
            spent = self._spent(account, typed)
        except (AccountLockedError, AccountClosedError):
            spent = False
        if not spent:
            raise InvalidCredentialsError(identifier)
        token, expires_at = self.sessions.open(account.id, account.identifier, False)
        return OpenedSession(token, expires_at, must_change_password=False)

    # Re-authentication: a proof of identity in a session already open.

    def reauthentication_options(self, account_id: UUID) -> str:
        account = self.store.account_to_show(account_id)
        options, challenge = self.ceremonies.authentication_options(
            [unb64url(p.credential_id) for p in account.passkeys]
        )
        self.challenges.issue(challenge, REAUTHENTICATE, account_id)
        return options

    def reauthenticate(self, account_id: UUID, response: dict[str, Any]) -> None:
        """Raises PasskeyRefusedError when the passkey is not one of this account's."""
        try:
            self._asserted(response, REAUTHENTICATE, account_id)
        except (AccountClosedError, AccountNotFoundError):
            raise PasskeyRefusedError("not this account's passkey") from None

    def reauthenticate_with_code(self, account_id: UUID, typed: str) -> None:
        """A recovery code proves it too, and is spent; a wrong one counts toward the lockout."""
        try:
            spent = self._spent(self.store.account(account_id), typed)
        except AccountLockedError:
            spent = False
        if not spent:
            raise FieldError("recovery_code", WRONG_CODE)

    def _spent(self, account: Account, typed: str) -> bool:
        """Whether the typed code was one of the account's unspent ones (it is spent now); a
        wrong one is recorded as a failed sign-in."""
        digest = recovery_code_digest(typed)
        spent: list[bool] = []

        def spend(a: Account) -> None:
            spent.append(digest is not None and a.spend_recovery_code(digest, self.clock()))
            if not spent[-1]:
                a.fail_sign_in(self.clock(), "recovery_code")

        self.store.update(account, spend)
        return spent[-1]

    def _asserted(
        self, response: dict[str, Any], purpose: str, expected: UUID | None
    ) -> Account:
        """The account whose passkey signed this challenge, its sign-in recorded."""
        challenge = self.ceremonies.challenge_of(response)
        live, issued_for = self.challenges.consume(challenge or b"", purpose)
        if not live or issued_for != expected:
            raise PasskeyRefusedError("no live challenge for this ceremony")
        handle = self.ceremonies.user_handle_of(response)
        credential = self.ceremonies.credential_id_of(response)
        if handle is None or len(handle) != 16 or credential is None:
            raise PasskeyRefusedError("no user handle or credential id")
        account_id = UUID(bytes=handle)
        if expected is not None and account_id != expected:
            raise PasskeyRefusedError("another account's passkey")
        account = self.store.account(account_id)
        passkey = account.passkey(b64url(credential))
        if passkey is None:
            raise PasskeyRefusedError("unknown credential")
        count = self.ceremonies.verify_authentication(
            response, challenge or b"", unb64url(passkey.public_key), passkey.sign_count
        )
        return self.store.update(
            account, lambda a: a.sign_in_with_passkey(passkey.credential_id, count, self.clock())
        )
