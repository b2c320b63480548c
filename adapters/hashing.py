"""bcrypt behind the domain's PasswordHasher protocol."""

from __future__ import annotations

import secrets

import bcrypt

from domain.credentials import prehash


class BcryptHasher:
    def __init__(self, rounds: int):
        self.rounds = rounds
        # Verified against when there is nothing to verify (an unknown identifier, an account
        # with no password that may sign in), so that it costs what a member's check costs.
        # bcrypt's work is set by the cost written in the hash alone; the decoy has the cost
        # every hash made now gets: temporary passwords (24 hours at most) and own passwords
        # set since the cost was last changed.
        self.decoy = self.hash(secrets.token_urlsafe(16))

    def hash(self, secret: str) -> str:
        return bcrypt.hashpw(prehash(secret), bcrypt.gensalt(self.rounds)).decode("ascii")

    def verify(self, secret: str, hashed: str | None) -> bool:
        if hashed is None:
            bcrypt.checkpw(prehash(secret), self.decoy.encode("ascii"))
            return False
        return bcrypt.checkpw(prehash(secret), hashed.encode("ascii"))
