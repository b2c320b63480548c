"""Forms of the portal pages, checked by the API's own schemas and use cases.

A page posts the API's field names; `Form` turns the typed text into the API's request (dates
typed JJ/MM/AAAA become dates, empty optional fields are absent), loads it with the same
marshmallow schema as the JSON endpoint, and on failure keeps, per field, the French messages
the API would have put in `errors`, with the API error's message for the summary. Passwords and
secret answers are never written back into a page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import request
from marshmallow import Schema, ValidationError

from adapters.http.errors import DOMAIN_ERRORS, DOMAIN_MESSAGES, MESSAGES, STATUS
from domain import errors as domain

# Never echoed back: a page that refuses a form shows these fields empty.
SECRET_FIELDS = frozenset({
    "password", "current_password", "new_password", "secret_answer", "answer", "token",
})
DAY = re.compile(r"\s*([0-9]{1,2})\s*[/.-]\s*([0-9]{1,2})\s*[/.-]\s*([0-9]{4})\s*")
ISO_DAY = re.compile(r"\s*([0-9]{4})-([0-9]{2})-([0-9]{2})\s*")
DAY_FORMAT = "Saisissez la date au format JJ/MM/AAAA, par exemple 12/04/1978."
# A textarea sends line breaks; the contract refuses control characters in a message, so the
# page keeps the member's words and joins their lines.
MULTILINE_FIELDS = frozenset({"message"})
LINE_BREAK = re.compile(r"\r\n|\r|\n")


def typed_day(text: str) -> str | None:
    """JJ/MM/AAAA (or the API's AAAA-MM-JJ) as an ISO date, or None when it is not a date."""
    found = DAY.fullmatch(text)
    if found:
        day, month, year = (int(part) for part in found.groups())
    else:
        found = ISO_DAY.fullmatch(text)
        if not found:
            return None
        year, month, day = (int(part) for part in found.groups())
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


@dataclass
class Form:
    """One submitted form: what was typed, and what is wrong with it."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    message: str | None = None
    status: int = 200
    retry_after: int | None = None  # seconds, when the refusal is the e-mail cap

    @classmethod
    def posted(cls, names: tuple[str, ...]) -> Form:
        values = {}
        for name in names:
            text = request.form.get(name, "")
            if name in MULTILINE_FIELDS:
                # Line breaks only: any other control character stays for the schema to refuse.
                text = " ".join(line.strip() for line in LINE_BREAK.split(text) if line.strip())
            values[name] = text
        return cls(values=values)

    def shown(self, name: str) -> str:
        return "" if name in SECRET_FIELDS else self.values.get(name, "")

    def refuse(self, code: str, errors: dict[str, list[str]] | None = None,
               message: str | None = None) -> Form:
        self.errors.update(errors or {})
        self.message = message or MESSAGES[code]
        self.status = STATUS[code]
        return self

    @property
    def refused(self) -> bool:
        return self.message is not None

    def load(self, schema: Schema, days: tuple[str, ...] = ()) -> dict[str, Any] | None:
        """The API's request for this form, or None with the API's errors kept."""
        data: dict[str, Any] = {}
        bad_days = {}
        for name, text in self.values.items():
            if not text.strip() and name not in SECRET_FIELDS:
                continue  # an empty optional field is an absent one; required ones say so
            if not text:
                continue
            if name in days:
                day = typed_day(text)
                if day is None:
                    bad_days[name] = [DAY_FORMAT]
                else:
                    data[name] = day
                continue
            data[name] = text
        try:
            loaded = schema.load(data)
        except ValidationError as error:
            messages = error.normalized_messages()
            self.refuse("validation_error", {
                name: [str(m) for m in (problems if isinstance(problems, list) else [problems])]
                for name, problems in messages.items()
            })
            loaded = None
        if bad_days:
            self.refuse("validation_error", bad_days)
            return None
        return loaded

    def run(self, command: Callable[[], Any]) -> Any:
        """Runs a use case; a refusal becomes this form's errors, as the API would word it."""
        try:
            return command()
        except domain.WrongPasswordError as error:
            self.refuse("validation_error", {error.field: ["Mot de passe incorrect."]})
        except domain.WeakPasswordError as error:
            self.refuse("weak_password", {"new_password": error.problems})
        except domain.FieldError as error:
            self.refuse("validation_error", {error.field: [error.message]})
        except domain.DomainError as error:
            code = next((c for t, c in DOMAIN_ERRORS.items() if isinstance(error, t)), "conflict")
            message = next((m for t, m in DOMAIN_MESSAGES.items() if isinstance(error, t)), None)
            self.refuse(code, message=message)
            if isinstance(error, domain.CredentialsEmailCapError):
                self.retry_after = error.retry_after_seconds
        return None
