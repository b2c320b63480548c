"""The queue, kind by kind, open ("À traiter") or decided ("Traités"), and one item's page with
the form that decides it (decisions.py takes the forms)."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from flask import render_template, request

from adapters.http.console.blueprint import bp, error_page
from adapters.http.console.queue_chart import DAYS, queue_charts
from adapters.http.console.session import signed_in
from adapters.http.pages.forms import Form
from adapters.http.services import services
from domain.credentials import normalise_name
from domain.enrollment import Enrollment
from projections.support_queue import KINDS, decode_cursor, encode_cursor

PAGE_SIZE = 50
STATUSES = {"open": "À traiter", "closed": "Traités"}
NOT_IN_DIRECTORY = "Non renseignée dans l'annuaire"


@bp.get("/queue")
@signed_in
def queue() -> Any:
    kind = request.args.get("kind", KINDS[0])
    status = request.args.get("status", "open")
    if kind not in KINDS or status not in STATUSES:
        return error_page(404, "Cette file n'existe pas.")
    after = None
    cursor = request.args.get("cursor")
    if cursor is not None:
        after = decode_cursor(cursor) if len(cursor) <= 100 else None
        if after is None:
            return error_page(400, "Le lien de page suivante n'est pas valide.")
    view = services().support_queue
    rows, next_seq = view.list_items(kind, status, PAGE_SIZE, after)
    chart = None
    if after is None:  # the picture heads the list, not its later pages
        now = services().clock()
        chart = queue_charts(view.history(now, DAYS), now)
    return render_template(
        "console/queue.html", kind=kind, status=status, STATUSES=STATUSES, rows=rows,
        decisions=[_json(row["decision"]) for row in rows], counts=view.open_counts(),
        first_page=after is None, chart=chart,
        next_cursor=encode_cursor(next_seq) if next_seq is not None else None,
    )


@bp.get("/items/<item_id>")
@signed_in
def item(item_id: str) -> Any:
    row = services().support_queue.get_item(item_id)
    if row is None:
        return error_page(404, "Cet élément de la file n'existe pas.")
    return item_page(row)


def item_page(
    row: dict[str, Any], form: Form | None = None, status: int = 200, error: str | None = None
) -> Any:
    """The item, its details and, while it is open, the form that decides it; `form` is a
    refused one shown again with its messages, `error` a refusal of the decision itself."""
    details = _json(row["details"]) or {}
    if form is None:
        form = Form(values={"new_email": details.get("new_email") or ""})
    return render_template(
        "console/item.html", row=row, details=details, decision=_json(row["decision"]),
        form=form, error=error, review=_review(row, details), account=_account(row),
    ), status


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None


def _account(row: dict[str, Any]) -> Any:
    """The account the item is about, if the queue knows it."""
    if not row.get("account_id"):
        return None
    return services().lifecycle.get_or_none(UUID(row["account_id"]))


def _review(row: dict[str, Any], details: dict[str, Any]) -> list[dict[str, Any]]:
    """For an identity review: what the person declared beside what the directory holds, each
    line marked when they differ (as registration compares them)."""
    declared, directory = details.get("declared"), details.get("directory")
    if not isinstance(declared, dict) or not isinstance(directory, dict):
        return []  # not an identity review, or its personal data was erased
    lines = []
    for field, label in (("last_name", "Nom"), ("first_name", "Prénom")):
        mine, theirs = declared.get(field, ""), directory.get(field, "")
        lines.append({"label": label, "declared": mine, "directory": theirs,
                      "differs": normalise_name(mine) != normalise_name(theirs)})
    enrollment = services().lifecycle.get_or_none(UUID(row["registration_id"]))
    if not isinstance(enrollment, Enrollment):
        return lines
    entry = services().directory.find(details.get("member_number") or "")
    born = entry.birth_date if entry is not None else None
    lines.append({"label": "Date de naissance", "declared": _day(enrollment.birth_date),
                  "directory": _day(born), "differs": born != enrollment.birth_date})
    lines.append({"label": "Adresse e-mail", "declared": enrollment.email,
                  "directory": NOT_IN_DIRECTORY, "differs": False})
    return lines


def _day(value: Any) -> str:
    return value.strftime("%d/%m/%Y") if value is not None else ""
