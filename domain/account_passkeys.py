"""Passkeys, recovery codes and the member's choice to require a passkey: the Account methods
that apply their rules (issue 20, CONTRACT.md "Members in control").

`PasskeysMixin` is a base of Account, like CredentialsMixin: it reads what Account's
`__init__` and events set, and records through Account's event methods, which stay in
Account's own class body so that their topics stay domain.account:Account.<Name>.

The ceremonies themselves (challenges, signatures, origins) are checked by an adapter before
any of this runs; what the account decides is which credentials are its own, the signature
counter's progress, which recovery codes are still unspent, and whether a password alone
may still sign in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from domain.errors import AccountLockedError, FieldError, PasskeyRefusedError

MAX_PASSKEYS = 10
PASSKEY_NAME_MAX = 60
RECOVERY_CODES = 10


@dataclass(frozen=True)
class Passkey:
    """One of the member's WebAuthn credentials. A snapshot stores it through the transcoding
    "passkey" (domain/lifecycle.py), by field name: renaming one breaks stored snapshots."""

    credential_id: str  # base64url, as the browser names it
    public_key: str  # base64url of the COSE key: public, needed to check each signature
    sign_count: int
    name: str  # the member's own words: sealed as personal data
    added_at: datetime
    last_used_at: datetime | None = None


def before_passkeys(state: dict[str, Any]) -> None:
    """An Account snapshot stored before passkeys (class version 1) had none of them."""
    state.update(passkeys=[], recovery_code_hashes=[], passkey_required=False)


def checked_passkey_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise FieldError(
            "name", "Donnez un nom à cette clé d'accès, par exemple « Mon téléphone »."
        )
    if len(name) > PASSKEY_NAME_MAX:
        raise FieldError(
            "name", f"Le nom d'une clé d'accès tient en {PASSKEY_NAME_MAX} caractères."
        )
    return name


class PasskeysMixin:
    def passkey(self, credential_id: str) -> Passkey | None:
        return next((p for p in self.passkeys if p.credential_id == credential_id), None)

    @property
    def recovery_codes_left(self) -> int:
        return sum(code is not None for code in self.recovery_code_hashes)

    def add_passkey(
        self, credential_id: str, public_key: str, sign_count: int, name: str, at: datetime,
        recovery_code_hashes: list[str] | None = None,
    ) -> None:
        """A passkey the member registered; with the first one come the recovery codes, whose
        hashes the caller drew when `needs_recovery_codes` said so."""
        self._check_open()
        name = checked_passkey_name(name)
        if self.passkey(credential_id) is not None:
            raise PasskeyRefusedError("credential already registered")
        if len(self.passkeys) >= MAX_PASSKEYS:
            raise FieldError("name", f"Un compte garde {MAX_PASSKEYS} clés d'accès au plus : "
                                     "supprimez-en une avant d'en ajouter une autre.")
        if self.needs_recovery_codes and len(recovery_code_hashes or []) != RECOVERY_CODES:
            raise ValueError("the first passkey comes with its recovery codes")
        self.passkey_added(
            credential_id=credential_id, public_key=public_key, sign_count=sign_count, name=name,
            actor=self.actor, timestamp=at,
        )
        if self.needs_recovery_codes:
            self.recovery_codes_generated(
                code_hashes=list(recovery_code_hashes or []), actor=self.actor, timestamp=at
            )

    @property
    def needs_recovery_codes(self) -> bool:
        return not self.recovery_code_hashes

    def remove_passkey(self, credential_id: str, at: datetime) -> None:
        """Removing the last passkey also stops requiring one: a password alone must then
        sign in again, or the member would have no way in but support."""
        self._check_open()
        if self.passkey(credential_id) is None:
            raise PasskeyRefusedError("no such credential on this account")
        self.passkey_removed(credential_id=credential_id, actor=self.actor, timestamp=at)
        if not self.passkeys and self.passkey_required:
            self.passkey_requirement_set(required=False, actor=self.actor, timestamp=at)

    def require_passkey(self, required: bool, actor: str, at: datetime) -> None:
        self._check_open()
        if required and not self.passkeys:
            raise FieldError("required", "Ajoutez d'abord une clé d'accès.")
        if required != self.passkey_required:
            self.passkey_requirement_set(required=required, actor=actor, timestamp=at)

    def regenerate_recovery_codes(self, code_hashes: list[str], at: datetime) -> None:
        """New codes replace every older one, spent or not."""
        self._check_open()
        if not self.passkeys:
            raise FieldError("passkeys", "Les codes de secours accompagnent une clé d'accès.")
        if len(code_hashes) != RECOVERY_CODES:
            raise ValueError(f"{RECOVERY_CODES} codes expected")
        self.recovery_codes_generated(code_hashes=code_hashes, actor=self.actor, timestamp=at)

    def sign_in_with_passkey(self, credential_id: str, sign_count: int, at: datetime) -> None:
        """A verified assertion of one of the account's passkeys. The lockout guards against
        guessed passwords: a passkey guesses nothing, so it lets its owner in even then."""
        self._check_open()
        passkey = self.passkey(credential_id)
        if passkey is None:
            raise PasskeyRefusedError("no such credential on this account")
        # A counter that does not move on is a cloned authenticator's mark (WebAuthn §6.1.1);
        # authenticators that keep no counter send 0 every time.
        if (sign_count or passkey.sign_count) and sign_count <= passkey.sign_count:
            raise PasskeyRefusedError("signature counter did not increase")
        self.signed_in_with_passkey(
            credential_id=credential_id, sign_count=sign_count, actor=self.actor, timestamp=at
        )

    def spend_recovery_code(self, code_hash: str, at: datetime) -> bool:
        """A recovery code in place of a passkey: True when it was one of the unspent codes
        (it is spent now); False, recording nothing, when it was not."""
        self._check_open()
        if self.is_locked(at):
            raise AccountLockedError(self.identifier)
        if code_hash not in self.recovery_code_hashes:
            return False
        self.signed_in_with_recovery_code(
            code_index=self.recovery_code_hashes.index(code_hash),
            codes_left=self.recovery_codes_left - 1, actor=self.actor, timestamp=at,
        )
        return True

    # What Account's event bodies assign, kept here beside the rules.

    def _with_passkey_used(self, credential_id: str, sign_count: int, at: datetime) -> None:
        self.passkeys = [
            replace(p, sign_count=sign_count, last_used_at=at) if p.credential_id == credential_id
            else p for p in self.passkeys
        ]

