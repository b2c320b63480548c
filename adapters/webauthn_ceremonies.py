"""The WebAuthn ceremonies (passkeys), through py_webauthn: options for the browser, and the
checks of what it sends back. The challenge store is adapters/webauthn_challenges.py; which
account a credential belongs to is the domain's business.

Every refusal is a PasskeyRefusedError whose message is one of our own short reasons: the
library's messages quote what the client sent (its origin, its type), which a log line should
not carry verbatim, and never a challenge or credential bytes.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, parse_client_data_json
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import InvalidJSONStructure
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from domain.errors import PasskeyRefusedError
from domain.passkey_types import NewPasskey

CHALLENGE_BYTES = 32
TIMEOUT_MS = 5 * 60 * 1000  # the challenge store's lifetime (webauthn_challenges.py)
# The spec caps credential ids at 1023 bytes and user handles at 64.
CREDENTIAL_ID_MAX, USER_HANDLE_MAX = 1023, 64
# ES256 first: what platform authenticators and security keys make; RS256 for Windows Hello.
ALGORITHMS = [
    COSEAlgorithmIdentifier.ECDSA_SHA_256,
    COSEAlgorithmIdentifier.EDDSA,
    COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256,
]
BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
TRANSPORTS = {transport.value for transport in AuthenticatorTransport}

# The library's message (a fragment of it) -> our reason. First match wins.
REASONS = (
    ("id and raw_id", "credential id and raw id differ"),
    ("unexpected type", "not a public-key credential"),
    ("Unexpected credential type", "not a public-key credential"),
    ("clientDataJSON was malformed", "unreadable client data"),
    ("Unexpected client data type", "wrong ceremony type"),
    ("challenge was not expected", "challenge mismatch"),
    ("client data origin", "wrong origin"),
    ("token_binding", "unexpected token binding"),
    ("RP ID hash", "wrong relying party id"),
    ("not present", "user not present"),
    ("verification is required", "user not verified"),
    ("sign count", "sign count did not increase: possible cloned authenticator or replay"),
    ("authentication signature", "bad signature"),
    ("public key alg", "unsupported key algorithm"),
    ("authenticatorData was malformed", "unreadable authenticator data"),
    ("attestationObject was malformed", "unreadable attestation object"),
    ("attested credential data", "no credential in the attestation"),
    ("ttestation", "attestation not verified"),
    ("Could not parse", "malformed credential"),
)


def _reason(error: Exception) -> str:
    if isinstance(error, InvalidJSONStructure):
        return "malformed credential"
    text = str(error)
    return next((reason for fragment, reason in REASONS if fragment in text),
                "response not verified")


def _b64url(value: Any) -> bytes | None:
    # Strictly the alphabet: Python's decoder otherwise skips what it does not know.
    if not isinstance(value, str) or not BASE64URL.fullmatch(value):
        return None
    try:
        return base64url_to_bytes(value) or None
    except ValueError:  # a length no encoding gives (binascii.Error)
        return None


def _inner(response: Any) -> dict[str, Any]:
    inner = response.get("response") if isinstance(response, dict) else None
    return inner if isinstance(inner, dict) else {}


class WebAuthnCeremonies:
    def __init__(self, rp_id: str, rp_name: str, origin: str):
        self.rp_id = rp_id
        self.rp_name = rp_name
        self.origin = origin

    # --- registration ---------------------------------------------------------------------

    def registration_options(
        self, user_handle: bytes, user_name: str, display_name: str, exclude: list[bytes]
    ) -> tuple[str, bytes]:
        challenge = secrets.token_bytes(CHALLENGE_BYTES)
        options = generate_registration_options(
            rp_id=self.rp_id,
            rp_name=self.rp_name,
            user_id=user_handle,
            user_name=user_name,
            user_display_name=display_name,
            challenge=challenge,
            timeout=TIMEOUT_MS,
            attestation=AttestationConveyancePreference.NONE,
            # Discoverable: signing in later names no account, the authenticator offers it.
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[PublicKeyCredentialDescriptor(id=cid) for cid in exclude],
            supported_pub_key_algs=ALGORITHMS,
        )
        return options_to_json(options), challenge

    def verify_registration(self, response: dict[str, Any], challenge: bytes) -> NewPasskey:
        if not isinstance(response, dict):
            raise PasskeyRefusedError("malformed credential")
        self._same_origin_only(response)
        try:
            verified = verify_registration_response(
                credential=response,
                expected_challenge=challenge,
                expected_rp_id=self.rp_id,
                expected_origin=self.origin,
                supported_pub_key_algs=ALGORITHMS,
                require_user_verification=True,
            )
        except Exception as error:  # any input, however broken, is a refusal, never a 500
            raise PasskeyRefusedError(_reason(error)) from None
        if len(verified.credential_id) > CREDENTIAL_ID_MAX:
            raise PasskeyRefusedError("credential id too long")
        transports = _inner(response).get("transports")
        return NewPasskey(
            credential_id=verified.credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            transports=sorted({t for t in transports if t in TRANSPORTS})
            if isinstance(transports, list) else [],
            backed_up=verified.credential_backed_up,
            aaguid=verified.aaguid,
        )

    # --- authentication -------------------------------------------------------------------

    def authentication_options(self, allow: list[bytes]) -> tuple[str, bytes]:
        """Empty `allow`: the browser offers whichever passkey of this site the member picks."""
        challenge = secrets.token_bytes(CHALLENGE_BYTES)
        options = generate_authentication_options(
            rp_id=self.rp_id,
            challenge=challenge,
            timeout=TIMEOUT_MS,
            allow_credentials=[PublicKeyCredentialDescriptor(id=cid) for cid in allow],
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return options_to_json(options), challenge

    def verify_authentication(
        self, response: dict[str, Any], challenge: bytes, public_key: bytes, sign_count: int
    ) -> int:
        """The new sign count, to store. The library refuses a count that did not grow past
        the stored one whenever either is non-zero (authenticators that never count, synced
        passkeys mostly, send 0 every time)."""
        if not isinstance(response, dict):
            raise PasskeyRefusedError("malformed credential")
        self._same_origin_only(response)
        try:
            verified = verify_authentication_response(
                credential=response,
                expected_challenge=challenge,
                expected_rp_id=self.rp_id,
                expected_origin=self.origin,
                credential_public_key=public_key,
                credential_current_sign_count=sign_count,
                # A passkey alone signs in: it is two factors only when the device checked
                # its owner (PIN, fingerprint), as the ANS referential asks for health data.
                require_user_verification=True,
            )
        except Exception as error:  # any input, however broken, is a refusal, never a 500
            raise PasskeyRefusedError(_reason(error)) from None
        return verified.new_sign_count

    # --- reading a response before verifying it -------------------------------------------

    def challenge_of(self, response: dict[str, Any]) -> bytes | None:
        """The challenge the client says it signed: the key to the challenge store."""
        client_data = _b64url(_inner(response).get("clientDataJSON"))
        if client_data is None:
            return None
        try:
            return parse_client_data_json(client_data).challenge or None
        except Exception:  # any unreadable client data is "no challenge"
            return None

    def credential_id_of(self, response: dict[str, Any]) -> bytes | None:
        raw = _b64url(response.get("rawId")) if isinstance(response, dict) else None
        return raw if raw is not None and len(raw) <= CREDENTIAL_ID_MAX else None

    def user_handle_of(self, response: dict[str, Any]) -> bytes | None:
        handle = _b64url(_inner(response).get("userHandle"))
        return handle if handle is not None and len(handle) <= USER_HANDLE_MAX else None

    def _same_origin_only(self, response: dict[str, Any]) -> None:
        # The library ignores crossOrigin: a ceremony run in a frame that another site embeds
        # would pass its origin check. Our pages are never framed, so such a response is forged.
        client_data = _b64url(_inner(response).get("clientDataJSON"))
        if client_data is None:
            return  # the library refuses it, with its reason
        try:
            cross_origin = parse_client_data_json(client_data).cross_origin
        except Exception:
            return
        if cross_origin:
            raise PasskeyRefusedError("cross-origin ceremony")
