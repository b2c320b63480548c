"""The decision forms, checked by the support API's own schemas (support_schemas.py), so that
the console refuses exactly what the API refuses, with the same French messages."""

from __future__ import annotations

import re
from typing import Any

from flask import request

from adapters.http.pages.forms import Form
from adapters.http.schemas import CONTROL_CHARACTERS
from adapters.http.support_schemas import RegistrationDecisionSchema, RequestDecisionSchema
from domain.decision_reasons import LABELS as REASON_LABELS
from domain.decision_reasons import UNKNOWN, reasons_for

LINE_BREAK = re.compile(r"\r\n|\r|\n")
CHOOSE = {
    "registration": "Choisissez « Approuver » ou « Rejeter ».",
    "request": "Choisissez « Accepter » ou « Refuser ».",
}
# The API's words name no field; on a page of several fields, the message says which.
CONTAINS_CONTROL = {
    "note": "La note contient des caractères de contrôle ou de mise en forme (souvent "
    "invisibles) : retirez-les.",
    "reply": "La réponse contient des caractères de contrôle ou de mise en forme (souvent "
    "invisibles) : retirez-les.",
}
CHOICES = {"registration": ("approve", "reject"), "request": ("accept", "reject")}
REQUIRED = "Champ obligatoire."
# The API takes a decision without a reason, for the clients written before reasons; an
# agent in the console always gives one, so that it still says why once the note is erased.
CHOOSE_REASON = "Choisissez le motif de la décision."
# The one list offers every decision's reasons, grouped by the button they go with.
REASON_GROUPS = {
    "approve": "Pour approuver", "accept": "Pour accepter", "reject": "Pour rejeter",
}
REQUEST_REJECT_GROUP = "Pour refuser"
WRONG_GROUP = "Ce motif ne va pas avec cette décision : choisissez-en un sous « {} »."


SCHEMAS = {"registration": RegistrationDecisionSchema, "request": RequestDecisionSchema}


def posted_decision(kind: str, request_kind: str | None = None) -> tuple[Form, dict[str, Any]]:
    """The posted decision form of a registration (`kind` "registration") or of a request of
    `request_kind`; the data is the API's request body, or empty when the form is refused."""
    decision = request.form.get("decision", "")
    values = {"decision": decision, "note": " ".join(request.form.get("note", "").split()),
              "reason": request.form.get("reason", "").strip()}
    if request_kind == "email_update":
        values["new_email"] = request.form.get("new_email", "").strip()
    if request_kind == "other":
        # The API refuses control characters in a reply, line breaks included (it is e-mailed
        # as one paragraph): the agent's lines are joined, as the portal joins a message's.
        lines = LINE_BREAK.split(request.form.get("reply", ""))
        values["reply"] = " ".join(line.strip() for line in lines if line.strip())
    form = Form(values=values)
    if decision not in CHOICES[kind]:
        return form.refuse("validation_error", message=CHOOSE[kind]), {}
    # A refusal changes no address: the address shown is kept, not checked.
    checked = Form(values={
        name: value for name, value in values.items()
        if not (name == "new_email" and decision == "reject")
    })
    data = checked.load(SCHEMAS[kind]())
    if checked.refused:
        form.refuse("validation_error", {
            name: [CONTAINS_CONTROL.get(name, m) if m == CONTROL_CHARACTERS else m
                   for m in messages]
            for name, messages in checked.errors.items()
        })
    if decision == "accept" and "new_email" in values and not values["new_email"]:
        form.refuse("validation_error", {"new_email": [REQUIRED]})
    reason = _reason_refused(request_kind or "identity_review", decision, values["reason"])
    if reason is not None:  # in the console's words, rather than the API's
        form.refuse("validation_error", {"reason": [reason]})
    return form, ({} if form.refused or data is None else data)


def _reason_refused(kind: str, decision: str, reason: str) -> str | None:
    if not reason:
        return CHOOSE_REASON
    if reason in reasons_for(kind, decision):
        return None
    other = "reject" if decision != "reject" else ("approve" if kind == "identity_review"
                                                   else "accept")
    if reason in reasons_for(kind, other):  # offered, under the other button
        return WRONG_GROUP.format(group_label(kind, decision))
    return UNKNOWN


def group_label(kind: str, decision: str) -> str:
    if decision == "reject" and kind != "identity_review":
        return REQUEST_REJECT_GROUP
    return REASON_GROUPS[decision]


Options = list[tuple[str | None, list[tuple[str, str]]]]


def reason_groups(kind: str, acceptable: bool = True) -> Options:
    """The select's options: (group label, [(code, label)]) for each decision the form can
    take, then, ungrouped (None), the reasons every one of them takes."""
    decisions = [d for d in CHOICES["registration" if kind == "identity_review" else "request"]
                 if acceptable or d == "reject"]
    lists = [reasons_for(kind, d) for d in decisions]
    shared = [c for c in lists[0] if all(c in codes for codes in lists)] if len(lists) > 1 else []
    groups: Options = [
        (group_label(kind, d), [(c, REASON_LABELS[c]) for c in codes if c not in shared])
        for d, codes in zip(decisions, lists, strict=True)
    ]
    if shared:
        groups.append((None, [(c, REASON_LABELS[c]) for c in shared]))
    return groups
