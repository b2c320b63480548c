"""Signed checkpoints of the audit tree: C2SP tlog-checkpoint notes, signed as C2SP signed-note
says, with Ed25519 (CONTRACT.md, "Audit", signed checkpoints).

A checkpoint is the text `<origin>\\n<size>\\n<base64 root>\\n`, a blank line, then one line
`— <key name> <base64(key hash ‖ signature)>` per signature; the signature is over the text
(its three lines with their newlines), and the key hash is the first 4 bytes of
SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key), 0x01 naming Ed25519. The key name is the origin,
as for a transparency log's own key. The key comes from ACCOUNTS_AUDIT_SIGNING_KEY, else from
ACCOUNTS_SECRET_KEY through HKDF under a label of its own, so it stays the same across
restarts and processes without another secret to keep.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from adapters.settings import Settings

SIGNING_KEY_INFO = b"account-lifecycle audit checkpoints"
ED25519 = b"\x01"  # signed-note's signature type for Ed25519
SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space


class CheckpointError(ValueError):
    """A note that is not a checkpoint of this log, or whose signature does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{b64(self.root)}\n"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def origin_of(portal_url: str) -> str:
    """The log's name: the service's address without its scheme, then `/audit` (an origin is
    a schema-less URL, with no space and no `+`)."""
    parts = urlsplit(portal_url)
    return f"{parts.netloc}{parts.path.rstrip('/')}/audit".replace("+", "%2B")


def signing_seed(settings: Settings) -> bytes:
    if settings.audit_signing_key is not None:
        return settings.audit_signing_key
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=SIGNING_KEY_INFO,
    ).derive(settings.secret_key.encode())


def key_hash(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_key).digest()[:4]


class CheckpointSigner:
    def __init__(self, seed: bytes, origin: str):
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.origin = origin
        self.public_key = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @classmethod
    def from_settings(cls, settings: Settings) -> CheckpointSigner:
        return cls(signing_seed(settings), origin_of(settings.portal_url))

    def sign(self, size: int, root: bytes) -> str:
        text = Checkpoint(self.origin, size, root).text()
        signature = self._key.sign(text.encode())
        stamp = b64(key_hash(self.origin, self.public_key) + signature)
        return f"{text}\n{SIGNATURE_PREFIX}{self.origin} {stamp}\n"


def open_checkpoint(note: str, origin: str, public_key: bytes) -> Checkpoint:
    """The checkpoint a note signed by this key for this origin says; CheckpointError when it
    is not one (other signatures, by other keys, are ignored, as signed-note allows)."""
    text, blank, signatures = note.partition("\n\n")
    if not blank or not signatures.endswith("\n"):
        raise CheckpointError("not a signed note")
    lines = text.split("\n")
    if len(lines) < 3 or lines[0] != origin:
        raise CheckpointError(f"not a checkpoint of {origin}")
    try:
        size, root = int(lines[1]), base64.b64decode(lines[2], validate=True)
    except (ValueError, binascii.Error):
        raise CheckpointError("unreadable size or root hash") from None
    if not lines[1].isdigit() or len(root) != 32:
        raise CheckpointError("unreadable size or root hash")
    verifier = Ed25519PublicKey.from_public_bytes(public_key)
    expected = key_hash(origin, public_key)
    for line in signatures[:-1].split("\n"):
        name, _, stamp = line.removeprefix(SIGNATURE_PREFIX).partition(" ")
        try:
            raw = base64.b64decode(stamp, validate=True)
        except binascii.Error:
            continue
        if not line.startswith(SIGNATURE_PREFIX) or name != origin or raw[:4] != expected:
            continue
        try:
            verifier.verify(raw[4:], (text + "\n").encode())
        except InvalidSignature:
            raise CheckpointError("the signature does not verify") from None
        return Checkpoint(origin, size, root)
    raise CheckpointError("no signature by this log's key")
