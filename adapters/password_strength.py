"""zxcvbn behind the domain's GuessabilityCheck: a maintained estimator, not a home-made list."""

from __future__ import annotations

from zxcvbn import zxcvbn

# zxcvbn's score 3 is "safely unguessable: moderate protection from an offline slow-hash
# scenario"; below it a password is common or easily guessed.
MIN_SCORE = 3


class ZxcvbnCheck:
    def is_easily_guessed(self, password: str, personal_data: list[str]) -> bool:
        return zxcvbn(password, user_inputs=personal_data)["score"] < MIN_SCORE
