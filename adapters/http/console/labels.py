"""What the console's templates show in words: the queue's kinds, the fields' accessible names
(CONTRACT.md, "Console"), and instants as an agent in France reads them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import g

from adapters.http.pages.labels import day
from adapters.mail_french import PARIS

KIND_LABELS = {
    "identity_review": "Vérifications d'identité",
    "undelivered_email": "E-mails non remis",
    "email_update": "Changements d'adresse",
    "closure": "Clôtures",
    "other": "Autres",
}
ITEM_TITLES = {
    "identity_review": "Vérification d'identité",
    "undelivered_email": "E-mail des codes d'accès non remis",
    "email_update": "Changement d'adresse e-mail",
    "closure": "Demande de clôture",
    "other": "Autre demande",
}
DETAIL_LABELS = {  # the details of a request, in this order
    "last_name": "Nom",
    "first_name": "Prénom",
    "member_number": "Numéro d'adhérent",
    "birth_date": "Date de naissance",
    "identifier": "Identifiant",
    "email": "Adresse e-mail",
    "new_email": "Nouvelle adresse e-mail demandée",
    "account_found": "Compte trouvé",
    "message": "Message",
}
DECISIONS = {"approve": "Approuvée", "reject": "Rejetée", "accept": "Acceptée"}
REQUEST_DECISIONS = {"accept": "Acceptée", "reject": "Refusée"}
# The contract's accessible names, by form field (the error summary links with them too).
LABELS = {
    "token": "Jeton d'accès",
    "q": "Rechercher un compte",
    "note": "Note",
    "new_email": "Nouvelle adresse e-mail",
    "reply": "Réponse envoyée au demandeur",
    "at": "Date et heure",
    "from": "Premier instant",
    "to": "Second instant",
}
# Where each role lands after signing in (session.py), and the menu it sees: each role only
# its own pages, as each is refused the other's.
HOMES = {"support": "console.queue", "auditor": "console.audit_home"}
MENUS = {
    "support": (("console.queue", "File du support"),),
    "auditor": (
        ("console.audit_home", "Comptes"),
        ("console.audit_feed", "Journal de tous les événements"),
        ("console.audit_verification", "Dernière vérification"),
    ),
}
SEARCHES = {"support": "console.search", "auditor": "console.audit_search"}


def instant(moment: datetime | str | None) -> datetime | None:
    if not moment:
        return None
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def when(moment: datetime | str | None) -> str:
    """An instant as the agent reads it, in Paris: 03/12/2026 à 14:05."""
    found = instant(moment)
    return found.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M") if found else ""


def hour(moment: datetime | str | None) -> str:
    """The time of day in Paris (14:05): a lock lasts 15 minutes, its day goes without saying."""
    found = instant(moment)
    return found.astimezone(PARIS).strftime("%H:%M") if found else ""


def page_context() -> dict[str, Any]:
    """What every console template may use (the blueprint's context processor)."""
    staff = g.get("staff")
    role = getattr(staff, "role", None)
    return {
        "KIND_LABELS": KIND_LABELS, "ITEM_TITLES": ITEM_TITLES, "DETAIL_LABELS": DETAIL_LABELS,
        "DECISIONS": DECISIONS, "REQUEST_DECISIONS": REQUEST_DECISIONS, "LABELS": LABELS,
        "when": when, "hour": hour, "day": day, "staff": staff,
        "home_endpoint": HOMES.get(role, "console.sign_in"), "menu": MENUS.get(role, ()),
        "search_endpoint": SEARCHES.get(role),
    }
