"""The console's blueprint: its headers, CSRF check, page context and error pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from adapters.http.console.labels import page_context
from adapters.http.errors import (
    BY_HTTP_STATUS,
    DOMAIN_ERRORS,
    DOMAIN_MESSAGES,
    MESSAGES,
    STATUS,
    UNAVAILABLE,
)
from adapters.http.pages.blueprint import FORM_EXPIRED, guard_pages
from domain import errors as domain

bp = Blueprint("console", __name__, url_prefix="/support", template_folder="../templates")

# The API's words name a resource; an agent reads what it is.
NOT_FOUND = {
    domain.AccountNotFoundError: "Aucun compte n'a cet identifiant.",
    domain.SupportRequestNotFoundError: "Cette demande n'existe pas.",
    domain.RegistrationNotFoundError: "Cette demande d'inscription n'existe pas.",
}
PAGE_NOT_FOUND = "La page demandée n'existe pas dans la console du support."


guard_pages(bp)


bp.context_processor(page_context)


def error_page(status: int, message: str, headers: dict[str, str] | None = None) -> Any:
    page = render_template("console/error.html", status=status, message=message)
    return page, status, headers or {}


def domain_message(error: domain.DomainError) -> tuple[int, str]:
    """The status and the French words of a refusal, as the API would answer it."""
    code = next((c for t, c in DOMAIN_ERRORS.items() if isinstance(error, t)), "conflict")
    message = next(
        (m for t, m in (*NOT_FOUND.items(), *DOMAIN_MESSAGES.items()) if isinstance(error, t)),
        MESSAGES[code],
    )
    return STATUS[code], message


@bp.errorhandler(CSRFError)
def csrf_error(error: CSRFError) -> Any:
    return error_page(400, FORM_EXPIRED)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Any:
    status = error.code or 500
    if status == 404:
        return error_page(404, PAGE_NOT_FOUND)
    return error_page(status, MESSAGES[BY_HTTP_STATUS.get(status, "internal_error")])


@bp.errorhandler(domain.DomainError)
def domain_error(error: domain.DomainError) -> Any:
    return error_page(*domain_message(error))


def _unavailable(error: Exception) -> Any:
    return error_page(503, MESSAGES["service_unavailable"], {"Retry-After": "5"})


for _kind in UNAVAILABLE:
    bp.register_error_handler(_kind, _unavailable)
