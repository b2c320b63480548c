"""bcrypt behind the domain's PasswordHasher protocol."""

from __future__ import annotations

import bcrypt

from domain.credentials import prehash


class BcryptHasher:
    def __init__(self, rounds: int):
        self.rounds = rounds
        # Verified against when there is nothing to verify, so that an unknown identifier costs
        # the same bcrypt work as a known one.
        self.decoy = self.hash("decoy")

    def hash(self, secret: str) -> str:
        return bcrypt.hashpw(prehash(secret), bcrypt.gensalt(self.rounds)).decode("ascii")

    def verify(self, secret: str, hashed: str | None) -> bool:
        if hashed is None:
            bcrypt.checkpw(prehash(secret), self.decoy.encode("ascii"))
            return False
        return bcrypt.checkpw(prehash(secret), hashed.encode("ascii"))
