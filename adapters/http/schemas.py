"""The project's base schema and fields: unknown fields are errors, and errors are in French."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate


class BaseSchema(Schema):
    class Meta:
        unknown = RAISE

    error_messages = {  # noqa: RUF012  (marshmallow reads it from the class)
        "unknown": "Champ inconnu.",
        "type": "Un objet JSON est attendu.",
    }


class Str(fields.String):
    default_error_messages = {  # noqa: RUF012
        "required": "Champ obligatoire.",
        "null": "Champ obligatoire.",
        "invalid": "Une chaîne de caractères est attendue.",
        "invalid_utf8": "Texte UTF-8 invalide.",
        "surrogate": "Texte Unicode invalide.",
    }

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        # JSON may escape a lone surrogate (\ud800): no Unicode text holds one, and it could
        # not be stored or hashed as UTF-8.
        if any("\ud800" <= c <= "\udfff" for c in text):
            raise self.make_error("surrogate")
        return text


class Email(fields.Email):
    default_error_messages = {  # noqa: RUF012
        "required": "Champ obligatoire.",
        "null": "Champ obligatoire.",
        "invalid": "Adresse e-mail invalide.",
    }


class Day(fields.Date):
    default_error_messages = {  # noqa: RUF012
        "required": "Champ obligatoire.",
        "null": "Champ obligatoire.",
        "invalid": "Date attendue au format AAAA-MM-JJ.",
        "format": "Date attendue au format AAAA-MM-JJ.",
    }


class Bool(fields.Boolean):
    """JSON true or false only: "yes", 1 or "false" are errors, not guesses."""

    default_error_messages = {  # noqa: RUF012
        "required": "Champ obligatoire.",
        "null": "Champ obligatoire.",
        "invalid": "true ou false attendu.",
    }

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        # Not through truthy/falsy sets: 1 == True in a set, so 1 and 0 would pass.
        if isinstance(value, bool):
            return value
        raise self.make_error("invalid")


def length(low: int, high: int) -> validate.Length:
    return validate.Length(
        min=low, max=high, error=f"Entre {low} et {high} caractères."
    )


def no_control_characters(value: str) -> None:
    # C0 and C1 controls, and the Unicode line and paragraph separators.
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in value):
        raise ValidationError("Caractères de contrôle interdits.")


def not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Champ obligatoire.")


def past_date(value: date) -> None:
    if value > date.today() or value.year < 1900:
        raise ValidationError("Date passée attendue.")


def name_field(**kwargs: Any) -> Str:
    return Str(required=True, validate=[length(1, 100), no_control_characters, not_blank], **kwargs)


MEMBER_NUMBER = validate.Regexp(
    r"\A[A-Z0-9]{1,20}\Z", error="Numéro d'adhérent : 1 à 20 lettres majuscules ou chiffres."
)
