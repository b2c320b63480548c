"""Identifiers, temporary passwords, name matching and the password pre-hash.

Everything random here draws from `secrets`; callers carry the results into events so that
replaying the history never draws again.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
import unicodedata
from typing import Protocol

IDENTIFIER_LOW = 10_000_000  # 8 digits with no leading zero, so no client can lose one
IDENTIFIER_HIGH = 99_999_999
TEMPORARY_PASSWORD_LETTERS = 9

# Every kind of hyphen/dash and apostrophe the FAQ's "espaces, tirets, apostrophes" can mean.
_IGNORED = set(" \t\u00a0\u202f\u2009-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d")
_IGNORED |= set("'\u2019\u2018\u02bc\u02b9\u00b4`\u2032\uff07")
# Ligatures that NFKD leaves whole.
_LIGATURES = {"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "đ": "d", "ł": "l"}


def normalise_name(name: str) -> str:
    """The comparable form of a name: no case, accents, ligatures, spaces, dashes or apostrophes."""
    folded = unicodedata.normalize("NFKD", name).casefold()
    kept = []
    for char in folded:
        if char in _IGNORED or unicodedata.category(char) in ("Mn", "Pd", "Zs"):
            continue
        kept.append(_LIGATURES.get(char, char))
    return "".join(kept)


def names_match(last_a: str, first_a: str, last_b: str, first_b: str) -> bool:
    return normalise_name(last_a) == normalise_name(last_b) and normalise_name(
        first_a
    ) == normalise_name(first_b)


def generate_identifier() -> str:
    """An 8-digit identifier drawn at random: never derived from personal data."""
    return str(IDENTIFIER_LOW + secrets.randbelow(IDENTIFIER_HIGH - IDENTIFIER_LOW + 1))


def generate_temporary_password() -> str:
    """9 ASCII letters of both cases and 1 digit at a random position (the FAQ's rule)."""
    chars = [secrets.choice(string.ascii_letters) for _ in range(TEMPORARY_PASSWORD_LETTERS)]
    chars.insert(secrets.randbelow(TEMPORARY_PASSWORD_LETTERS + 1), secrets.choice(string.digits))
    return "".join(chars)


# Recovery codes: 16 characters of Crockford's base32 (no I, L, O or U to misread), 80 bits,
# the entropy CNIL's deliberation 2022-100 asks of a secret that is enough alone; shown as
# four groups of four.
RECOVERY_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECOVERY_CODE_LENGTH = 16
_MISREAD = str.maketrans({"O": "0", "I": "1", "L": "1"})


def generate_recovery_code() -> str:
    chars = "".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return "-".join(chars[i:i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4))


def recovery_code_digest(typed: str) -> str | None:
    """The stored form of a typed recovery code, however it was typed (case, spaces, dashes,
    O for 0, I or L for 1); None when it cannot be one. The codes are random and long, so a
    digest needs no salt nor slowness, as with tokens."""
    compact = "".join(c for c in typed.upper() if c not in " -\t\u00a0").translate(_MISREAD)
    if len(compact) != RECOVERY_CODE_LENGTH or any(
        c not in RECOVERY_CODE_ALPHABET for c in compact
    ):
        return None
    return token_digest(compact)


def looks_temporary(candidate: str) -> bool:
    """9 ASCII letters and 1 digit: the shape of every temporary password, which an own
    password (12 characters at least) never has. It tells which of an account's hashes a typed
    password is for (Account.hash_for), so that a sign-in checks one."""
    return (
        len(candidate) == TEMPORARY_PASSWORD_LETTERS + 1
        and all(c in string.ascii_letters or c in string.digits for c in candidate)
        and sum(c in string.digits for c in candidate) == 1
    )


def prehash(secret: str) -> bytes:
    """NFC, then SHA-256, then base64: 44 bytes, so bcrypt's 72-byte limit never truncates."""
    # surrogatepass: whatever string arrives, hashing it never raises.
    normalised = unicodedata.normalize("NFC", secret).encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(normalised).digest()
    return base64.b64encode(digest)


def normalise_secret_answer(answer: str) -> str:
    """Secret answers compare like names (CONTRACT.md v1.1, "Input hygiene"): without case,
    accents, spaces, hyphens or apostrophes ("Saint-Étienne" == "saint etienne")."""
    return normalise_name(answer)


def token_digest(token: str) -> str:
    """High-entropy random tokens are stored as a SHA-256 digest (no salt needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class PasswordHasher(Protocol):
    """Slow hashing lives in an adapter (bcrypt); the domain only names what it needs."""

    def hash(self, secret: str) -> str: ...

    def verify(self, secret: str, hashed: str | None) -> bool:
        """Whether `secret` is the one hashed. With None (nothing to check against) the same
        work is done against a decoy made at the cost new hashes get, and the answer is False."""
        ...


PASSWORD_MIN = 12
PASSWORD_MAX = 64
PERSONAL_PART_MIN = 3  # shorter names ("Li") would forbid too many honest passwords


class GuessabilityCheck(Protocol):
    """A strength estimator (zxcvbn in adapters): is this password common or easy to guess?"""

    def is_easily_guessed(self, password: str, personal_data: list[str]) -> bool: ...


def password_problems(
    new: str,
    *,
    current: str,
    personal_data: list[str],
    check: GuessabilityCheck,
) -> list[str]:
    """Every rule the new password breaks, as French sentences (empty when it is acceptable).

    Length counts code points after NFC, so accented phrases are measured as people see them.
    `personal_data` is the identifier, the names and the e-mail's local part.
    """
    password = unicodedata.normalize("NFC", new)
    problems = []
    if len(password) < PASSWORD_MIN:
        problems.append(f"Le mot de passe doit comporter au moins {PASSWORD_MIN} caractères.")
    if len(password) > PASSWORD_MAX:
        problems.append(f"Le mot de passe doit comporter au plus {PASSWORD_MAX} caractères.")
    folded = normalise_name(password)
    parts = [normalise_name(p) for p in personal_data]
    if any(len(p) >= PERSONAL_PART_MIN and p in folded for p in parts):
        problems.append(
            "Le mot de passe ne doit contenir ni votre identifiant, ni vos nom et prénom, "
            "ni votre adresse e-mail."
        )
    if password == unicodedata.normalize("NFC", current):
        problems.append("Le nouveau mot de passe doit être différent du mot de passe actuel.")
    if len(password) <= PASSWORD_MAX and check.is_easily_guessed(password, personal_data):
        problems.append("Ce mot de passe est trop courant ou trop facile à deviner.")
    return problems


def generate_verification_code() -> str:
    """80 random bits in 16 characters of Crockford-like base32: typable on another device."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(16))


def normalise_code(code: str) -> str:
    """Codes are typed by hand: case, spaces and dashes do not matter."""
    return "".join(c for c in code.upper() if c.isalnum())
