"""The password policy as a pure function: each rule, named in French."""

from __future__ import annotations

import unicodedata

from domain.credentials import password_problems


class Guess:
    """A stand-in estimator that finds a password guessable when it contains 'azerty'."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []

    def is_easily_guessed(self, password: str, personal_data: list[str]) -> bool:
        self.calls.append((password, personal_data))
        return "azerty" in password.lower()


PERSONAL = ["12345678", "helene.dupre", "Dupré-Lefèvre", "Hélène"]
STRONG = "Où sont passées les clés du château ?"


def problems(new: str, current: str = "ancien mot de passe", check: Guess | None = None):
    return password_problems(new, current=current, personal_data=PERSONAL, check=check or Guess())


def test_a_strong_phrase_breaks_no_rule():
    assert problems(STRONG) == []


def test_length_counts_code_points_after_nfc():
    decomposed = unicodedata.normalize("NFD", "é" * 30 + "à" * 34)  # 128 code points as typed
    assert len(decomposed) == 128
    assert problems(decomposed) == []
    assert any("au moins 12" in p for p in problems("Court1!"))
    assert any("au plus 64" in p for p in problems("é" * 65))
    assert problems("é" * 30 + "à" * 34) == []  # 64 code points, 128 bytes


def test_personal_data_is_found_whatever_the_case_accents_or_separators():
    for new in (
        "xx12345678xxyyzz", "DUPRE LEFEVRE est là !", "bonjour helene!!!", "helene.dupre 2026!"
    ):
        assert any("identifiant" in p for p in problems(new)), new


def test_short_names_do_not_forbid_honest_passwords():
    found = password_problems(
        "Le lion dort ce soir", current="x", personal_data=["Li", "Yi"], check=Guess()
    )
    assert found == []


def test_the_current_password_cannot_be_kept():
    assert any("différent" in p for p in problems(STRONG, current=STRONG))
    nfd = unicodedata.normalize("NFD", STRONG)
    assert any("différent" in p for p in problems(nfd, current=STRONG))


def test_a_guessable_password_is_refused_and_the_estimator_sees_personal_data():
    check = Guess()
    assert any("trop courant" in p for p in problems("azertyuiop123456", check=check))
    assert check.calls[-1][1] == PERSONAL


def test_every_broken_rule_is_listed():
    found = problems("azerty", current="azerty")
    assert len(found) == 3  # too short, same as current, guessable


def test_an_overlong_password_is_not_sent_to_the_estimator():
    check = Guess()
    problems("a" * 500, check=check)
    assert check.calls == []
