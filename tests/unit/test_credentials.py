"""Identifiers, temporary passwords, name matching and the pre-hash: pure functions."""

from __future__ import annotations

import string
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.credentials import (
    generate_identifier,
    generate_temporary_password,
    looks_temporary,
    names_match,
    normalise_name,
    normalise_secret_answer,
    password_problems,
    prehash,
)

DRAWS = 5000


def test_a_temporary_password_has_nine_letters_and_one_digit_at_every_position():
    positions: Counter[int] = Counter()
    for _ in range(DRAWS):
        password = generate_temporary_password()
        assert len(password) == 10
        digits = [i for i, c in enumerate(password) if c in string.digits]
        letters = [c for c in password if c in string.ascii_letters]
        assert len(digits) == 1 and len(letters) == 9
        positions[digits[0]] += 1
    # Every one of the 10 places is used, none far from the uniform 500 (p < 1e-9 per place).
    assert set(positions) == set(range(10))
    assert all(350 < count < 650 for count in positions.values()), positions


def test_temporary_passwords_use_both_cases_and_do_not_repeat():
    drawn = [generate_temporary_password() for _ in range(DRAWS)]
    joined = "".join(drawn)
    assert any(c.islower() for c in joined) and any(c.isupper() for c in joined)
    assert len(set(drawn)) == DRAWS


def test_an_identifier_is_eight_digits_and_spread():
    drawn = [generate_identifier() for _ in range(DRAWS)]
    assert all(len(i) == 8 and i.isdigit() and i[0] != "0" for i in drawn)
    assert len({i[0] for i in drawn}) == 9
    assert len(set(drawn)) > DRAWS - 5


@pytest.mark.parametrize(
    ("declared", "directory"),
    [
        ("dupre lefevre", "Dupré-Lefèvre"),
        ("DUPRE-LEFEVRE", "Dupré-Lefèvre"),
        ("Dupré–Lefèvre", "Dupré-Lefèvre"),  # en dash
        ("Dupré—Lefèvre", "Dupré-Lefèvre"),  # em dash
        ("Dupré\u2011Lefèvre", "Dupré-Lefèvre"),  # non-breaking hyphen
        ("N'Diaye", "N’Diaye"),
        ("NDIAYE", "N'Diaye"),
        ("Coeurdevey", "Cœurdevey"),
        ("LAETITIA", "Lætitia"),
        ("Eloise", "Éloïse"),
        ("E\u0301loi\u0308se", "Éloïse"),  # decomposed accents
        ("angstrom", "Ångström"),
        ("Thi  Mai", "Thị Mai"),
        ("  Martin ", "Martin"),
        ("saint exupery", "Saint-Exupéry"),
    ],
)
def test_names_that_differ_only_by_case_accents_ligatures_spaces_dashes_apostrophes_match(
    declared, directory
):
    assert normalise_name(declared) == normalise_name(directory)


@pytest.mark.parametrize(
    ("declared", "directory"),
    [("Dupont", "Dupond"), ("Beatrix", "Béatrice"), ("Marie", "Mari"), ("Jean Paul", "Jean")],
)
def test_names_that_differ_by_a_letter_do_not_match(declared, directory):
    assert normalise_name(declared) != normalise_name(directory)


def test_first_and_last_names_are_compared_separately():
    assert names_match("Le Goff", "Yann", "Le Goff", "Yann")
    assert not names_match("Yann", "Le Goff", "Le Goff", "Yann")


@given(st.text())
def test_name_normalisation_is_idempotent(name):
    once = normalise_name(name)
    assert normalise_name(once) == once


def test_secret_answers_ignore_case_accents_and_spaces():
    assert normalise_secret_answer(" Médor  le chien") == normalise_secret_answer("medorlechien")


def test_the_prehash_is_44_bytes_whatever_the_password_length():
    assert len(prehash("é" * 64)) == 44
    assert len(prehash("x" * 10_000)) == 44


def test_the_prehash_keeps_passwords_that_differ_after_byte_72_apart():
    base = "a" * 80
    assert prehash(base + "1") != prehash(base + "2")


def test_composed_and_decomposed_forms_are_the_same_password():
    assert prehash("caf\u00e9") == prehash("cafe\u0301")


def test_the_prehash_never_raises_whatever_the_string():
    assert len(prehash("ab\ud800cd")) == 44


@pytest.mark.parametrize("typed", ["saint etienne", "SAINT-ÉTIENNE", "Saint–Étienne"])
def test_secret_answers_compare_like_names_hyphens_and_apostrophes_included(typed):
    assert normalise_secret_answer(typed) == normalise_secret_answer("Saint-Étienne")
    assert normalise_secret_answer("l'Isle d’Abeau") == normalise_secret_answer("LISLE DABEAU")


def test_every_temporary_password_has_a_temporary_ones_shape():
    assert all(looks_temporary(generate_temporary_password()) for _ in range(DRAWS))


@pytest.mark.parametrize(
    "typed",
    ["Kqzwmxvbn", "Kqzwmxvbn77", "Kqzwmxvb77", "Kqzwmxvbné", "Kqzwmxvbn٣", " Kqzwmxvbn7",
     "Kqzwm-xvb7", "kqzwmxvbnl"],
    ids=["9-letters", "11-chars", "2-digits", "accent", "arabic-digit", "white-space",
         "dash", "no-digit"],
)
def test_nothing_else_has_a_temporary_ones_shape(typed):
    assert not looks_temporary(typed)


class _NeverGuessed:
    def is_easily_guessed(self, password: str, personal_data: list[str]) -> bool:
        return False


@given(st.text(alphabet=string.ascii_letters + string.digits + " \t\n", min_size=10, max_size=64))
def test_no_password_the_policy_accepts_has_a_temporary_ones_shape(typed):
    # Which hash a sign-in checks goes by this shape (Account.hash_for).
    if not password_problems(typed, current="", personal_data=[], check=_NeverGuessed()):
        assert not looks_temporary(typed)
