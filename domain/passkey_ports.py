"""What the passkey use cases need from outside: the WebAuthn ceremonies (a library checks
origins, relying party, signatures) and single-use challenges. adapters/webauthn_ceremonies.py
and adapters/webauthn_challenges.py implement them; tests of the use cases hand them the
same ceremonies (pure computation) and challenges kept in memory."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol
from uuid import UUID

from domain.passkey_types import NewPasskey

CHALLENGE_LIFETIME = timedelta(minutes=5)


class PasskeyCeremonies(Protocol):
    def registration_options(
        self, user_handle: bytes, user_name: str, display_name: str, exclude: list[bytes]
    ) -> tuple[str, bytes]:
        """The options JSON for navigator.credentials.create(), and its challenge."""
        ...

    def verify_registration(self, response: dict[str, Any], challenge: bytes) -> NewPasskey:
        """Raises PasskeyRefusedError."""
        ...

    def authentication_options(self, allow: list[bytes]) -> tuple[str, bytes]:
        """The options JSON for navigator.credentials.get() (no credential: discoverable)."""
        ...

    def verify_authentication(
        self, response: dict[str, Any], challenge: bytes, public_key: bytes, sign_count: int
    ) -> int:
        """The authenticator's new signature counter; raises PasskeyRefusedError."""
        ...

    def challenge_of(self, response: dict[str, Any]) -> bytes | None: ...

    def credential_id_of(self, response: dict[str, Any]) -> bytes | None: ...

    def user_handle_of(self, response: dict[str, Any]) -> bytes | None: ...


class Challenges(Protocol):
    """Challenges handed out and not yet answered; each answers once."""

    def issue(
        self, challenge: bytes, purpose: str, account_id: UUID | None,
        lifetime: timedelta = CHALLENGE_LIFETIME,
    ) -> None: ...

    def consume(self, challenge: bytes, purpose: str) -> tuple[bool, UUID | None]:
        """Whether it was live and issued for this purpose, and for which account."""
        ...
