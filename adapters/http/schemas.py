"""The project's base schema and fields: unknown fields are errors, and errors are in French."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import date
from typing import Any

from email_validator import EmailNotValidError, validate_email
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from adapters.http.errors import STATUS
from adapters.text_hygiene import FORBIDDEN_CATEGORIES, has_control_characters

CONTROL_CHARACTERS = "Caractères de contrôle ou de mise en forme interdits."


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


class Email(Str):
    """A deliverable `local@domain`, stored as our mailer will send it.

    email_validator decides, not a regex of ours: no quoted local part, no IP literal, no
    special-use or single-label domain (`localhost`), no display name. The domain is
    case-insensitive and travels in IDNA form, so it is kept so (`café.fr` → `xn--caf-dma.fr`);
    the local part belongs to the receiving mailbox (RFC 5321 lets it be case-sensitive), so it
    is kept as typed.
    """

    default_error_messages = {  # noqa: RUF012
        "invalid": "Adresse e-mail invalide : une adresse de la forme prenom.nom@exemple.fr "
        "est attendue.",
        "control": CONTROL_CHARACTERS,
        # A non-ASCII mailbox needs SMTPUTF8 of every relay on its way, and adapters/mail.py
        # (the email package's default policy) would write its To header RFC 2047-encoded,
        # which no server reads as an address: the member would never get the codes.
        "smtputf8": "Adresse e-mail non acceptée : avant le @, les lettres accentuées et les "
        "caractères non latins ne peuvent pas être acheminés par notre messagerie.",
    }

    def __init__(self, **kwargs: Any) -> None:
        # The OpenAPI document still says `format: email`, as it did for fields.Email.
        super().__init__(metadata={"format": "email", **kwargs.pop("metadata", {})}, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        # No joiner is needed in an address: every control or format character is refused.
        if any(unicodedata.category(c) in FORBIDDEN_CATEGORIES for c in text):
            raise self.make_error("control")
        local, _, _ = text.rpartition("@")
        if not local.isascii():
            raise self.make_error("smtputf8")
        try:
            address = validate_email(
                text, check_deliverability=False, allow_smtputf8=False,
                allow_quoted_local=False, allow_domain_literal=False, allow_display_name=False,
                globally_deliverable=True,
            )
        except EmailNotValidError:
            raise self.make_error("invalid") from None
        return f"{local}@{address.ascii_domain}"


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
    if has_control_characters(value):
        raise ValidationError(CONTROL_CHARACTERS)




def not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Champ obligatoire.")


def past_date(value: date) -> None:
    if value > date.today() or value.year < 1900:
        raise ValidationError("Date passée attendue.")


def name_field(**kwargs: Any) -> Str:
    return Str(required=True, validate=[length(1, 100), no_control_characters, not_blank], **kwargs)


class FullMatch(validate.Regexp):
    """validate.Regexp over the whole value. The expression is written `^...$` because apispec
    copies it into the OpenAPI document as `pattern`, which clients read with their own
    (ECMA-262) engines, where `\\A` and `\\Z` mean something else or nothing. It is matched with
    re.fullmatch, not re.match: Python's `$` also matches before a final "\\n"."""

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


MEMBER_NUMBER = FullMatch(
    r"^[A-Z0-9]{1,20}$", error="Numéro d'adhérent : 1 à 20 lettres majuscules ou chiffres."
)
IDENTIFIER = FullMatch(r"^[0-9]{8}$", error="8 chiffres attendus.")


def listed(values: Iterable[str], **kwargs: Any) -> fields.String:
    """An output string whose possible values the document lists. Dumped as it is: the list
    is for the reader, the view decides the value."""
    return fields.String(metadata={"enum": [str(v) for v in values]}, **kwargs)


class ErrorSchema(Schema):
    """The contract's error shape with its codes listed (errors.py's table): the one for
    app.py's ContractApi.ERROR_SCHEMA, the document's `Error` component."""

    code = listed(tuple(STATUS), required=True)
    message = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
