"""The decision forms, checked by the support API's own schemas (support_schemas.py), so that
the console refuses exactly what the API refuses, with the same French messages."""

from __future__ import annotations

import re
from typing import Any

from flask import request

from adapters.http.pages.forms import Form
from adapters.http.schemas import CONTROL_CHARACTERS
from adapters.http.support_schemas import RegistrationDecisionSchema, RequestDecisionSchema

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


SCHEMAS = {"registration": RegistrationDecisionSchema, "request": RequestDecisionSchema}


def posted_decision(kind: str, request_kind: str | None = None) -> tuple[Form, dict[str, Any]]:
    """The posted decision form of a registration (`kind` "registration") or of a request of
    `request_kind`; the data is the API's request body, or empty when the form is refused."""
    decision = request.form.get("decision", "")
    values = {"decision": decision, "note": " ".join(request.form.get("note", "").split())}
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
    return form, ({} if form.refused or data is None else data)
