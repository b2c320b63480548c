"""What a verified WebAuthn registration yields, as the domain keeps it (no WebAuthn library
here: adapters/webauthn_ceremonies.py turns the library's result into this)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NewPasskey:
    credential_id: bytes
    # COSE-encoded, as the authenticator gave it: what verifying a later sign-in needs.
    public_key: bytes
    sign_count: int
    # Hints for the browser's later allowCredentials/excludeCredentials ("internal", "hybrid"…).
    transports: list[str]
    # Synced passkeys (iCloud Keychain, Google Password Manager) are backed up: losing the
    # device does not lose them.
    backed_up: bool
    # The authenticator's model, all zeros when it does not say (attestation "none" often).
    aaguid: str
