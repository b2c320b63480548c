"""French typography for the e-mails' prose: spaces that do not break, elision, a Paris time
and an amount in euros, written as a member reads them."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

NBSP = "\u00a0"  # espace insécable: before « : », between a number and its unit
NNBSP = "\u202f"  # espace fine insécable: before « ; ? ! » and inside guillemets
PARIS = ZoneInfo("Europe/Paris")

# Whatever space stands before the mark (plain, either no-break one, or none) becomes the right
# one, so french() may run twice. Only a mark that follows a word, a bracket or a guillemet (or
# starts the text) and ends a word is touched: the colon of "http://" never is.
_SPACE = "[ \u00a0\u202f]?"
_AFTER_WORD = r"(?:(?<=[\w)»'])|^)"  # or a segment's start, after a link
_BEFORE_COLON = re.compile(_AFTER_WORD + _SPACE + r":(?=\s|$)")
_BEFORE_THIN = re.compile(_AFTER_WORD + _SPACE + r"([;?!])(?=\s|$)")
_OPENING = re.compile("«" + _SPACE)
_CLOSING = re.compile(_SPACE + "»")
# A number stays with the word it counts: « 24 heures », « 5 tentatives » (not « 2026 à »).
_NUMBER_WORD = re.compile(r"(?<=\d) (?=[^\W\d_]{2,})")


def french(text: str) -> str:
    """Prose with French spacing around its punctuation. Not for the contract's machine-read
    lines (`Identifiant : …`), which keep their plain space."""
    text = _BEFORE_COLON.sub(NBSP + ":", text)
    text = _OPENING.sub("«" + NNBSP, text)
    text = _CLOSING.sub(NNBSP + "»", text)
    text = _NUMBER_WORD.sub(NBSP, text)
    return _BEFORE_THIN.sub(NNBSP + r"\1", text)


# An initial y before a consonant is a vowel (Yves, Yvonne); before a vowel it is a consonant
# (Yann, Yasmine, Yolande), as is any other consonant. An initial h is taken as mute: first
# names with an aspirated h are rare enough that "d'Hélène", "d'Hugo" win.
_VOWELS = set("aeiouæœ")


def _base_letters(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def elides(word: str) -> bool:
    """Whether « de » before this word becomes « d' »."""
    letters = _base_letters(word.strip())
    if not letters:
        return False
    first, second = letters[0], letters[1:2]
    if first == "y":
        return bool(second) and second not in _VOWELS and second.isalpha()
    return first in _VOWELS or first == "h"


def of(name: str) -> str:
    """« de Zoé », « d'Hélène »: the preposition de before a first name, elided when due."""
    name = name.strip()
    return f"d'{name}" if elides(name) else f"de {name}"


def paris_time(moment: datetime) -> str:
    """« 03/12/2026 à 17 h 42 », in Paris. A time with seconds is shown at the next minute: a
    member who waits until the minute shown is not refused for the seconds left."""
    # Rounded in UTC: Paris is a whole number of hours away, and UTC has no skipped minutes.
    utc = moment.astimezone(UTC)
    if utc.second or utc.microsecond:
        utc = (utc + timedelta(minutes=1)).replace(second=0, microsecond=0)
    return utc.astimezone(PARIS).strftime(f"%d/%m/%Y à %H{NBSP}h{NBSP}%M")


def euros(amount: str | Decimal) -> str:
    """« 1 234,50 € »: two decimals after a comma, thousands apart by a narrow space."""
    whole, cents = f"{Decimal(amount):,.2f}".split(".")
    return f"{whole.replace(',', NNBSP)},{cents}{NBSP}€"
