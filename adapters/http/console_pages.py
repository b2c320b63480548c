"""The support console's page rendering: the French labels and dates its templates show, and the
item and error pages its routes answer with (templates/console/).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask import g, render_template

from domain.credentials import normalise_name

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
DETAIL_LABELS = {  # the details of the other kinds, in this order
    "last_name": "Nom",
    "first_name": "Prénom",
    "member_number": "Numéro d'adhérent",
    "birth_date": "Date de naissance",
    "identifier": "Identifiant",
    "email": "Adresse e-mail",
    "new_email": "Nouvelle adresse e-mail",
    "account_found": "Compte trouvé",
    "message": "Message",
}
DECISIONS = {"approve": "Approuvée", "reject": "Rejetée", "accept": "Acceptée"}


def when(text: str | None) -> str:
    """An ISO instant as agents read it: 26/11/2026 à 10:00 UTC."""
    if not text:
        return ""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%d/%m/%Y à %H:%M UTC")


def labels() -> dict[str, Any]:
    """What every console template may use (the blueprint's context processor)."""
    return {
        "KIND_LABELS": KIND_LABELS, "ITEM_TITLES": ITEM_TITLES, "DETAIL_LABELS": DETAIL_LABELS,
        "DECISIONS": DECISIONS, "when": when, "staff": g.get("staff"),
    }


def item_page(
    row: dict[str, Any], status: int = 200, error: str | None = None, note: str = ""
) -> Any:
    details = json.loads(row["details"]) if row["details"] else {}
    decision = json.loads(row["decision"]) if row["decision"] else None
    return render_template(
        "console/item.html", row=row, details=details, decision=decision, error=error,
        note=note, names=_names(details),
    ), status


def _names(details: dict[str, Any]) -> list[dict[str, Any]]:
    """For identity_review: each name as declared and as in the directory, and if they differ."""
    declared, directory = details.get("declared"), details.get("directory")
    if not isinstance(declared, dict) or not isinstance(directory, dict):
        return []  # not an identity review, or its personal data was erased
    names = []
    for field, label in (("last_name", "Nom"), ("first_name", "Prénom")):
        mine, theirs = declared.get(field, ""), directory.get(field, "")
        names.append({
            "label": label, "declared": mine, "directory": theirs,
            "differs": normalise_name(mine) != normalise_name(theirs),
        })
    return names


def item_or_error(row: dict[str, Any] | None, status: int, message: str, note: str = "") -> Any:
    if row is None:  # the queue has not caught up with this registration yet
        return error_page(status, message)
    return item_page(row, status, message, note)


def error_page(status: int, message: str) -> Any:
    return render_template("console/error.html", status=status, message=message), status
