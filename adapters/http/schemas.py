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
    }


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
    default_error_messages = {  # noqa: RUF012
        "required": "Champ obligatoire.",
        "null": "Champ obligatoire.",
        "invalid": "true ou false attendu.",
    }


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
