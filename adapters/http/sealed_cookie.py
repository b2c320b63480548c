"""A credential kept in the Flask session cookie, which is only signed: encrypted first
(Fernet) under a key derived from the app's secret, one key per use, so no response ever shows
a credential in clear (CONTRACT.md) and a value sealed for one use opens nothing in another."""

from __future__ import annotations

import base64
from datetime import timedelta
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, session


def _fernet(purpose: str) -> Fernet:
    return _keyed(current_app.secret_key, purpose)


@lru_cache(maxsize=16)
def _keyed(secret: str, purpose: str) -> Fernet:
    # Derived once per secret and purpose, not on every signed-in request.
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None,
        info=f"account-lifecycle {purpose}".encode(),
    ).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(key: str, value: str) -> None:
    """Keeps `value` under `key` in the session, sealed for that purpose."""
    session[key] = _fernet(key.replace("_", " ")).encrypt(value.encode()).decode()


def unsealed(key: str, lifetime: timedelta) -> str | None:
    """The value sealed under `key`, if it is there, intact and younger than `lifetime`."""
    sealed = session.get(key)
    if not isinstance(sealed, str):
        return None
    try:
        return _fernet(key.replace("_", " ")).decrypt(
            sealed, ttl=int(lifetime.total_seconds())
        ).decode()
    except InvalidToken:
        return None
