"""The portal pages' blueprint: its headers, CSRF check and error pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from adapters.http.errors import (
    BY_HTTP_STATUS,
    MESSAGES,
    UNAVAILABLE,
)
from adapters.http.pages.labels import page_context

bp = Blueprint(
    "pages", __name__, template_folder="../templates", static_folder="../static",
    static_url_path="/assets",
)
CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
    "img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
FORM_EXPIRED = "Le formulaire a expiré ou n'est pas valide. Rechargez la page et recommencez."


def guard_pages(blueprint: Blueprint) -> None:
    """What every HTML page answers with, the portal's and the console's: a CSRF check of each
    POST (CSRFError, 400; GET passes), no caching of anyone's data, no framing, no sniffing,
    and a policy that lets the page load only the service's own stylesheet."""

    @blueprint.before_request
    def check_csrf() -> None:
        current_app.extensions["csrf"].protect()

    @blueprint.after_request
    def page_headers(response: Any) -> Any:
        headers = response.headers
        headers["Cache-Control"] = "no-store"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "same-origin"
        headers["Content-Security-Policy"] = CSP
        if request.endpoint == "pages.static":
            headers["Cache-Control"] = "public, max-age=3600"  # our stylesheets, nobody's data
        return response


guard_pages(bp)


bp.context_processor(page_context)


PAGE_NOT_FOUND = "La page demandée n'existe pas ou a été déplacée."


def error_page(
    status: int, message: str, headers: dict[str, str] | None = None, title: str | None = None
) -> Any:
    page = render_template("portal/error.html", status=status, message=message, title=title)
    return page, status, headers or {}


@bp.errorhandler(CSRFError)
def csrf_error(error: CSRFError) -> Any:
    return error_page(400, FORM_EXPIRED)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Any:
    status = error.code or 500
    if status == 404:  # a page, not an API resource: the API's "Ressource introuvable." misleads
        return error_page(404, PAGE_NOT_FOUND)
    return error_page(status, MESSAGES[BY_HTTP_STATUS.get(status, "internal_error")])


def _unavailable(error: Exception) -> Any:
    return error_page(503, MESSAGES["service_unavailable"], {"Retry-After": "5"})


for _kind in UNAVAILABLE:
    bp.register_error_handler(_kind, _unavailable)
