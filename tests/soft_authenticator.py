"""A software WebAuthn authenticator and its browser, for tests: it reads the options JSON the
server sends, and answers what `navigator.credentials.create()` / `.get()` followed by
`PublicKeyCredential.toJSON()` would give (attestation "none", ES256, discoverable
credentials kept with their user handle).

Each knob forges one thing a real browser or authenticator would not do, so that a test can
show the server refusing it: another origin, another RP id, another ceremony type, a chosen
counter, a signature by another key, a replayed response.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import struct
from base64 import urlsafe_b64decode, urlsafe_b64encode
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40
AAGUID = bytes(16)  # "none" attestation: the authenticator does not say what it is


def b64url(data: bytes) -> str:
    return urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return urlsafe_b64decode(text + "=" * (-len(text) % 4))


def cose_key(public_key: ec.EllipticCurvePublicKey) -> bytes:
    numbers = public_key.public_numbers()
    # EC2 key type, ES256, curve P-256, then x and y (RFC 9053).
    return cbor2.dumps({
        1: 2, 3: -7, -1: 1,
        -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big"),
    })


@dataclass
class Credential:
    id: bytes
    key: ec.EllipticCurvePrivateKey
    user_handle: bytes
    rp_id: str
    sign_count: int = 0


class NotAllowedError(Exception):
    """What the browser rejects with: no credential fits, or an excluded one is here."""


class SoftAuthenticator:
    def __init__(self, origin: str, rp_id: str, *, counts: bool = True, backed_up: bool = False):
        self.origin = origin
        self.rp_id = rp_id
        # Synced passkeys mostly never count: they send 0 every time.
        self.counts = counts
        self.backed_up = backed_up
        self.credentials: list[Credential] = []
        self.last_response: dict[str, Any] | None = None

    # --- navigator.credentials.create() ------------------------------------------------------

    def create(
        self, options_json: str, *, origin: str | None = None, rp_id: str | None = None,
        ceremony: str = "webauthn.create", user_verified: bool = True,
    ) -> dict[str, Any]:
        options = json.loads(options_json)
        rp = rp_id or self.rp_id
        excluded = {unb64url(d["id"]) for d in options.get("excludeCredentials", [])}
        if any(c.id in excluded and c.rp_id == rp for c in self.credentials):
            raise NotAllowedError("this authenticator already holds an excluded credential")
        if -7 not in [p["alg"] for p in options["pubKeyCredParams"]]:
            raise NotAllowedError("ES256 not offered")
        credential = Credential(
            id=os.urandom(16), key=ec.generate_private_key(ec.SECP256R1()),
            user_handle=unb64url(options["user"]["id"]), rp_id=rp,
        )
        # A discoverable credential replaces the one this RP had for the same user.
        self.credentials = [
            c for c in self.credentials
            if not (c.rp_id == rp and c.user_handle == credential.user_handle)
        ] + [credential]
        client_data = self._client_data(ceremony, options["challenge"], origin)
        auth_data = (
            self._auth_data_head(rp, AT | self._flags(user_verified), 0)
            + AAGUID + struct.pack(">H", len(credential.id)) + credential.id
            + cose_key(credential.key.public_key())
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        response = {
            "id": b64url(credential.id),
            "rawId": b64url(credential.id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "authenticatorData": b64url(auth_data),
                "transports": ["internal"],
                "publicKeyAlgorithm": -7,
            },
        }
        self.last_response = response
        return copy.deepcopy(response)

    # --- navigator.credentials.get() ---------------------------------------------------------

    def get(
        self, options_json: str, *, origin: str | None = None, rp_id: str | None = None,
        ceremony: str = "webauthn.get", counter: int | None = None,
        sign_with: ec.EllipticCurvePrivateKey | None = None, credential_id: bytes | None = None,
        user_verified: bool = True,
    ) -> dict[str, Any]:
        """`counter` sends that count (and keeps it); `sign_with` signs with another key;
        `credential_id` picks the credential (else the newest this RP may use)."""
        options = json.loads(options_json)
        credential = self._pick(options, credential_id)
        if counter is not None:
            credential.sign_count = counter
        elif self.counts:
            credential.sign_count += 1
        client_data = self._client_data(ceremony, options["challenge"], origin)
        auth_data = self._auth_data_head(
            rp_id or self.rp_id, self._flags(user_verified), credential.sign_count
        )
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = (sign_with or credential.key).sign(signed, ec.ECDSA(hashes.SHA256()))
        response = {
            "id": b64url(credential.id),
            "rawId": b64url(credential.id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(credential.user_handle),
            },
        }
        self.last_response = response
        return copy.deepcopy(response)

    def replay(self) -> dict[str, Any]:
        """The last response again, byte for byte, as an attacker who saw it would send it."""
        assert self.last_response is not None, "nothing to replay"
        return copy.deepcopy(self.last_response)

    # --- the pieces --------------------------------------------------------------------------

    def _pick(self, options: dict[str, Any], credential_id: bytes | None) -> Credential:
        allowed = {unb64url(d["id"]) for d in options.get("allowCredentials", [])}
        rp = options.get("rpId") or self.rp_id
        candidates = [
            c for c in self.credentials
            if (credential_id is None or c.id == credential_id)
            and (not allowed or c.id in allowed) and c.rp_id == rp
        ]
        if not candidates:
            raise NotAllowedError("no credential of this authenticator fits")
        return candidates[-1]

    def _client_data(self, ceremony: str, challenge: str, origin: str | None) -> bytes:
        # The browser's own serialisation: compact, in this key order.
        return json.dumps(
            {"type": ceremony, "challenge": challenge, "origin": origin or self.origin,
             "crossOrigin": False},
            separators=(",", ":"),
        ).encode("utf-8")

    def _flags(self, user_verified: bool) -> int:
        flags = UP | (UV if user_verified else 0)
        return flags | (BE | BS if self.backed_up else 0)

    @staticmethod
    def _auth_data_head(rp_id: str, flags: int, sign_count: int) -> bytes:
        return hashlib.sha256(rp_id.encode("utf-8")).digest() + bytes([flags]) + struct.pack(
            ">I", sign_count
        )
