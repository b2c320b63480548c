"""What the auditor's pages show, in words: an account's events as timeline entries, its state
at an instant in the documented schema (audit_schemas.py) and what changed between two.

The events go through the audit API's own view (audit.py event_view: hashes of secrets masked)
and then through audit_words.py, which shows only the fields it lists for each type: a page
never shows more than the API would, and usually less.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from adapters.audit_words import in_words, label, who
from adapters.http.audit import event_view
from adapters.http.audit_schemas import StateAtSchema
from adapters.http.console.labels import when
from adapters.mail_french import PARIS

# The stream's aggregate, as the timeline groups and draws them (timeline_svg.py).
FAMILIES = {
    "Account": ("account", "Compte"),
    "Enrollment": ("enrollment", "Inscription"),
    "SupportRequest": ("request", "Demande au support"),
    "Reimbursement": ("reimbursement", "Remboursement"),
}
OTHER = ("other", "Index du service")
TYPED = (
    # What a datetime-local field sends, and what a person types where it is a plain text box.
    re.compile(r"\s*(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})[T ](?P<H>\d{1,2}):(?P<M>\d{2})"
               r"(?::\d{2}(?:\.\d+)?)?\s*"),
    re.compile(r"\s*(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})\s*(?:à\s*)?(?P<H>\d{1,2})"
               r"\s*[:h]\s*(?P<M>\d{2})\s*"),
)
STATE_NAMES = (
    ("status", "Statut"),
    ("email", "Adresse e-mail"),
    ("must_change_password", "Mot de passe"),
    ("locked_until", "Blocage"),
    ("alerts", "Alertes des remboursements"),
    ("secret_question", "Question secrète"),
    ("last_sign_in_at", "Dernière connexion"),
)
STATUSES = {"open": "Ouvert", "locked": "Bloqué", "closed": "Clôturé"}
NOT_YET = "Le compte n'existait pas encore"


@dataclass(frozen=True)
class Entry:
    """One event of the timeline: its number on the page and in the picture."""

    number: int
    position: int
    family: str
    family_name: str
    type: str
    label: str
    who: str
    at: datetime
    lines: list[tuple[str, str]]


def entries(history: list[tuple[int, Any]]) -> list[Entry]:
    found = []
    for number, (position, event) in enumerate(history, start=1):
        view = event_view(position, event)
        family, family_name = FAMILIES.get(view["stream"].split(":", 1)[0], OTHER)
        found.append(Entry(
            number, position, family, family_name, view["type"], label(view["type"]),
            who(view["actor"]), event.timestamp, in_words(view["type"], view["data"]),
        ))
    return found


def typed_instant(text: str) -> datetime | None:
    """A minute typed in Paris time, as the last instant of that minute: the pages show events
    to the minute, so the state "at 14:05" includes what they list at 14:05."""
    for pattern in TYPED:
        found = pattern.fullmatch(text or "")
        if found:
            try:
                moment = datetime(
                    int(found["y"]), int(found["m"]), int(found["d"]), int(found["H"]),
                    int(found["M"]), tzinfo=PARIS,
                )
            except ValueError:
                return None
            return moment + timedelta(seconds=59, microseconds=999_999)
    return None


def field_value(moment: datetime) -> str:
    """An instant as a datetime-local field holds it (Paris time, to the minute)."""
    return moment.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")


def state_words(identifier: str, at: datetime, version: int, state: dict[str, Any]
                ) -> list[tuple[str, str]]:
    """(French name, value in words) of each field of the contract's state, as the API's
    documented schema serializes it."""
    shown = StateAtSchema().dump(
        {"identifier": identifier, "at": at, "version": version, "state": state}
    )["state"]
    return [(name, _word(key, shown.get(key))) for key, name in STATE_NAMES]


def _word(key: str, value: Any) -> str:
    if key == "status":
        return STATUSES.get(value, str(value))
    if key == "must_change_password":
        return "temporaire, à remplacer à la connexion" if value else "choisi par le membre"
    if key == "locked_until":
        return f"bloqué jusqu'au {when(value)}" if value else "aucun"
    if key == "alerts":
        return "activées" if value else "désactivées"
    if key == "secret_question":
        return "aucune" if value is None else str(value)
    if key == "last_sign_in_at":
        return when(value) if value else "jamais"
    return str(value)


def changes(before: list[tuple[str, str]] | None, after: list[tuple[str, str]] | None
            ) -> list[tuple[str, str, str]]:
    """(name, before, after) of each field that differs; a side where the account did not
    exist yet reads so."""
    names = [name for name, _ in (after or before or [])]
    old, new = dict(before or []), dict(after or [])
    return [
        (name, old.get(name, NOT_YET), new.get(name, NOT_YET))
        for name in names if old.get(name) != new.get(name)
    ]


def between(found: list[Entry], start: datetime, end: datetime) -> list[Entry]:
    """The entries recorded after `start`, up to `end`: what made the difference."""
    return [e for e in found if start < e.at <= end]
