"""Input hygiene of text, wherever it comes from (the API's and the pages' forms, the directory
CSV): no character that makes a name or a message read otherwise than it is stored."""

from __future__ import annotations

import unicodedata

# Cc: C0 and C1 controls. Cf: format characters, among them the bidirectional overrides and
# isolates (U+202A-U+202E, U+2066-U+2069) that make a name or a message read, in the console or
# in an e-mail, otherwise than it is stored, and the invisible ones (U+200B, U+00AD, U+FEFF).
# Zl, Zp: the line and paragraph separators.
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
# ZWNJ and ZWJ are Cf, but some scripts need one inside a word: ZWNJ in Persian names
# (Alizadeh is علی, ZWNJ, زاده), ZWJ after a virama in Devanagari or Sinhala conjuncts.
JOINERS = frozenset({"\u200c", "\u200d"})


def has_control_characters(text: str) -> bool:
    """A control or format character outside the one place a script needs it."""
    return any(
        unicodedata.category(c) in FORBIDDEN_CATEGORIES
        and not (c in JOINERS and _inside_a_word(text, i))
        for i, c in enumerate(text)
    )


def _inside_a_word(text: str, i: int) -> bool:
    # Letters or combining marks on both sides: a virama (Mn) comes before the ZWJ of a
    # Devanagari conjunct. A joiner next to another, a space or an end joins nothing.
    return 0 < i < len(text) - 1 and all(
        unicodedata.category(text[j])[0] in "LM" for j in (i - 1, i + 1)
    )
