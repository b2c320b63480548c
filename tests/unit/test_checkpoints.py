"""Checkpoint signing (adapters/checkpoints.py): the key, its name and hash as C2SP signed-note
defines them, the note's exact shape, and a note that was changed in any way refused."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from adapters.checkpoints import (
    CheckpointError,
    CheckpointSigner,
    key_hash,
    open_checkpoint,
    origin_of,
)
from adapters.settings import Settings, SettingsError

ROOT = hashlib.sha256(b"root").digest()
SEED = bytes(range(32))


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env(
        {"ACCOUNTS_SECRET_KEY": "k" * 32, "ACCOUNTS_MAIL_URL": f"file://{tmp_path}/mail",
         "ACCOUNTS_DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", **env},
        var_dir=tmp_path / "var",
    )


def test_the_key_hash_is_signed_notes_for_ed25519():
    public = bytes(32)
    expected = hashlib.sha256(b"example.com/log" + b"\x0a" + b"\x01" + public).digest()[:4]
    assert key_hash("example.com/log", public) == expected


def test_a_checkpoint_is_the_contracts_note_and_its_signature_verifies():
    signer = CheckpointSigner(SEED, "example.org/audit")
    note = signer.sign(7, ROOT)

    text, signature = note.split("\n\n")
    assert text == f"example.org/audit\n7\n{base64.b64encode(ROOT).decode()}"
    assert signature.startswith("— example.org/audit ") and signature.endswith("\n")
    raw = base64.b64decode(signature.rsplit(" ", 1)[1])
    assert raw[:4] == key_hash("example.org/audit", signer.public_key) and len(raw) == 68
    Ed25519PublicKey.from_public_bytes(signer.public_key).verify(raw[4:], (text + "\n").encode())
    opened = open_checkpoint(note, "example.org/audit", signer.public_key)
    assert (opened.size, opened.root) == (7, ROOT)


def test_a_changed_note_is_refused():
    signer = CheckpointSigner(SEED, "example.org/audit")
    note = signer.sign(7, ROOT)
    other = CheckpointSigner(bytes(32), "example.org/audit")
    for changed in (
        note.replace("\n7\n", "\n8\n"),
        note.replace(base64.b64encode(ROOT).decode(), base64.b64encode(bytes(32)).decode()),
        note.replace("example.org/audit\n", "example.net/audit\n", 1),
        note[:-2] + ("A" if note[-2] != "A" else "B") + "\n",
        note.split("\n\n")[0] + "\n",
    ):
        with pytest.raises(CheckpointError):
            open_checkpoint(changed, "example.org/audit", signer.public_key)
    with pytest.raises(CheckpointError):
        open_checkpoint(note, "example.org/audit", other.public_key)


def test_the_key_is_the_given_seed_or_else_derived_from_the_secret_key(tmp_path):
    given = settings(tmp_path, ACCOUNTS_AUDIT_SIGNING_KEY=base64.b64encode(SEED).decode())
    derived = settings(tmp_path)

    assert CheckpointSigner.from_settings(given).public_key == CheckpointSigner(
        SEED, "x"
    ).public_key
    one, again = (CheckpointSigner.from_settings(derived) for _ in range(2))
    assert one.public_key == again.public_key != CheckpointSigner(SEED, "x").public_key
    moved = replace(derived, secret_key="m" * 32)
    assert CheckpointSigner.from_settings(moved).public_key != one.public_key


@pytest.mark.parametrize("value", ["pas du base64", base64.b64encode(bytes(31)).decode()])
def test_a_signing_key_that_is_not_a_base64_seed_stops_the_start(tmp_path, value):
    with pytest.raises(SettingsError, match=r"^ACCOUNTS_AUDIT_SIGNING_KEY: "):
        settings(tmp_path, ACCOUNTS_AUDIT_SIGNING_KEY=value)


def test_the_origin_is_the_portals_address_without_its_scheme():
    assert origin_of("https://espace-client.example.fr") == "espace-client.example.fr/audit"
    assert origin_of("http://localhost:5000/portail/") == "localhost:5000/portail/audit"
