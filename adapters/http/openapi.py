"""What the OpenAPI document (/api/v1/openapi.json) says besides the schemas: the errors each
operation can answer, in the contract's error shape, with their headers and an example each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from adapters.http.errors import MESSAGES, STATUS

F = TypeVar("F", bound=Callable[..., Any])

# The contract's error shape: the component that app.py's Api registers as its ERROR_SCHEMA.
ERROR = {"$ref": "#/components/schemas/Error"}

# What an operation's error answers mean, unless the operation says more (`when`).
WHEN = {
    "malformed_request": "Le corps n'est pas un objet JSON, ou n'est pas envoyé en "
    "application/json.",
    "payload_too_large": "Le corps dépasse 64 Kio.",
    "validation_error": "Un champ est absent, d'un mauvais type, trop long ou invalide ; "
    "`errors` dit lesquels et pourquoi.",
    "weak_password": "Le nouveau mot de passe ne respecte pas les règles ; "
    "`errors.new_password` dit lesquelles.",
    "authentication_required": "Jeton Bearer absent, inconnu, expiré ou révoqué.",
    "invalid_credentials": "Identifiant ou mot de passe refusé, quelle qu'en soit la raison "
    "(compte bloqué ou clôturé compris).",
    "password_change_required": "Session ouverte avec un mot de passe temporaire : il faut "
    "d'abord le remplacer (PUT /api/v1/me/password).",
    "forbidden": "Ce jeton n'ouvre pas cette opération : un jeton du personnel sur une "
    "opération de membre, un jeton de membre ou d'un autre rôle sur une opération du personnel.",
    "section_unavailable": "Le membre n'a pas droit à cette rubrique de l'Espace Client.",
    "reauthentication_required": "Code ajouté par la version 1.1 (aucun autre ne convenait) : "
    "une modification sensible demande une preuve d'identité de moins de 5 minutes dans "
    "cette session (POST /api/v1/me/reauthentication).",
    "not_found": "Ressource inconnue, ou que l'appelant ne peut pas connaître.",
    "already_decided": "Une décision a déjà été prise.",
    "conflict": "Une modification concurrente l'a emporté ; rien n'a été enregistré, "
    "réessayer.",
    "rate_limited": "Trop de tentatives depuis cette adresse (ACCOUNTS_RATE_LIMITS) ; "
    "réessayer après `Retry-After` secondes.",
    "service_unavailable": "Base d'événements ou file de messages injoignable ; rien n'a été "
    "enregistré, réessayer après `Retry-After` secondes.",
}
RETRY_AFTER = {
    "description": "Secondes à attendre avant de réessayer.",
    "schema": {"type": "integer", "minimum": 1},
}
HEADERS = {
    "authentication_required": {
        "WWW-Authenticate": {"description": "`Bearer`.", "schema": {"type": "string"}}
    },
    "rate_limited": {"Retry-After": RETRY_AFTER},
    "service_unavailable": {"Retry-After": RETRY_AFTER},
}
WEAK_PASSWORD_EXAMPLE = {
    "new_password": ["Ce mot de passe est trop courant ou trop facile à deviner."]
}

# The errors of a bearer-protected operation (adapters/http/auth.py): require_staff(...) and
# require_member(temporary_allowed=True) answer 401, or 403 forbidden to another kind of token;
# require_member() also 403 password_change_required to a session on a temporary password.
BEARER_ERRORS = ("authentication_required", "forbidden")
MEMBER_SESSION = (*BEARER_ERRORS, "password_change_required")
# A JSON body: not an object (400), too large (413), invalid fields (422).
JSON_BODY = ("malformed_request", "payload_too_large", "validation_error")


def documented_errors(
    blp: Any, *codes: str, invalid: tuple[str, str] | None = None, **when: str
) -> Callable[[F], F]:
    """Declare the errors an operation can answer: one response per status, in the error shape,
    describing and exemplifying each code. Every operation reads or writes the event store, so
    503 service_unavailable is always declared. `invalid` is a (field, message) pair for the
    validation_error example; `when` says, by code, what a code means for this operation."""
    by_status: dict[int, list[str]] = {}
    for code in dict.fromkeys((*codes, "service_unavailable")):
        by_status.setdefault(STATUS[code], []).append(code)

    def decorator(view: F) -> F:
        for status, group in sorted(by_status.items()):
            view = blp.alt_response(
                status,
                schema=ERROR,
                description="\n\n".join(f"`{c}` : {when.get(c, WHEN[c])}" for c in group),
                examples={c: {"value": _example(c, invalid)} for c in group},
                headers={k: v for c in group for k, v in HEADERS.get(c, {}).items()} or None,
            )(view)
        return view

    return decorator


def _example(code: str, invalid: tuple[str, str] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": MESSAGES[code]}
    if code == "validation_error" and invalid is not None:
        body["errors"] = {invalid[0]: [invalid[1]]}
    if code == "weak_password":
        body["errors"] = WEAK_PASSWORD_EXAMPLE
    return body

