"""The contract's error shape and the one table mapping failures to its codes."""

from __future__ import annotations

import logging
from typing import Any

import dramatiq.errors
import redis.exceptions
from eventsourcing.persistence import IntegrityError, PersistenceError
from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from domain import errors as domain

log = logging.getLogger(__name__)

MESSAGES = {
    "malformed_request": "La requête doit être un objet JSON envoyé avec le type application/json.",
    "validation_error": "Certains champs sont absents ou invalides.",
    "weak_password": "Le nouveau mot de passe ne respecte pas les règles de sécurité.",
    "authentication_required": "Veuillez vous identifier.",
    "invalid_credentials": "Identifiant ou mot de passe incorrect.",
    "password_change_required": "Vous devez d'abord remplacer votre mot de passe temporaire.",
    "forbidden": "Vous n'avez pas accès à cette ressource.",
    "section_unavailable": "Cette rubrique n'est pas disponible pour votre compte.",
    "reauthentication_required": "Pour cette modification, confirmez d'abord votre identité "
    "(mot de passe, clé d'accès ou code de secours).",
    "not_found": "Ressource introuvable.",
    "already_decided": "Cette demande a déjà été traitée.",
    "conflict": "Une autre modification a eu lieu en même temps. Veuillez réessayer.",
    "rate_limited": "Trop de tentatives. Veuillez réessayer plus tard.",
    "method_not_allowed": "Cette méthode n'est pas autorisée pour cette adresse.",
    "payload_too_large": "La requête dépasse la taille autorisée (64 Kio).",
    "service_unavailable": "Le service est momentanément indisponible. Veuillez réessayer "
    "dans quelques instants.",
    "internal_error": "Une erreur inattendue est survenue.",
}
STATUS = {
    "malformed_request": 400, "validation_error": 422, "weak_password": 422,
    "authentication_required": 401, "invalid_credentials": 401,
    "password_change_required": 403, "forbidden": 403, "section_unavailable": 403,
    "reauthentication_required": 403, "not_found": 404, "already_decided": 409,
    "conflict": 409, "rate_limited": 429,
    "method_not_allowed": 405, "payload_too_large": 413, "service_unavailable": 503,
    "internal_error": 500,
}
BY_HTTP_STATUS = {
    400: "malformed_request", 401: "authentication_required", 403: "forbidden",
    404: "not_found", 405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
    422: "validation_error", 429: "rate_limited", 503: "service_unavailable",
}
DOMAIN_ERRORS: dict[type[Exception], str] = {
    domain.IdempotencyKeyReusedError: "conflict",
    domain.ConcurrencyError: "conflict",
    domain.AlreadyDecidedError: "already_decided",
    domain.RegistrationNotFoundError: "not_found",
    domain.CredentialsEmailCapError: "rate_limited",
    domain.InvalidCredentialsError: "invalid_credentials",
    domain.EmailVerificationInvalidError: "not_found",
    domain.AccountNotFoundError: "not_found",
    domain.SupportRequestNotFoundError: "not_found",
    domain.AccountExistsError: "conflict",
    domain.AccountClosedError: "conflict",
    domain.InvalidTransitionError: "conflict",
    domain.ReauthenticationRequiredError: "reauthentication_required",
    domain.PasskeyRequiredError: "invalid_credentials",
}
# Where the code's generic message would mislead, the domain error says what happened.
DOMAIN_MESSAGES: dict[type[Exception], str] = {
    domain.IdempotencyKeyReusedError: "Cet identifiant de requête a déjà servi pour une requête "
    "différente.",
    domain.AccountExistsError: "Un compte est déjà ouvert pour cet adhérent : la demande ne peut "
    "pas être approuvée.",
    domain.AccountClosedError: "Ce compte est clôturé.",
    domain.EmailVerificationInvalidError: "Ce code de vérification est inconnu, a déjà servi "
    "ou a expiré.",
    domain.CredentialsEmailCapError: "Trois e-mails de codes d'accès sont déjà partis pour ce "
    "compte ces dernières 24 heures. Veuillez réessayer plus tard.",
}
UNAVAILABLE = (
    PersistenceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    dramatiq.errors.BrokerConnectionError,
)


class ApiError(Exception):
    def __init__(
        self,
        code: str,
        errors: dict[str, list[str]] | None = None,
        message: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(code)
        self.code = code
        self.errors = errors
        self.message = message or MESSAGES[code]
        self.headers = headers or {}


def error_response(error: ApiError) -> Any:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.errors:
        body["errors"] = error.errors
    response = jsonify(body)
    response.status_code = STATUS[error.code]
    response.headers.update(error.headers)
    return response


def flatten_webargs(messages: Any) -> dict[str, list[str]]:
    """webargs nests errors by location ({"json": {"email": [...]}}); the contract does not."""
    flat: dict[str, list[str]] = {}
    for location_errors in (messages or {}).values():
        if isinstance(location_errors, dict):
            for field, problems in location_errors.items():
                flat[str(field)] = _as_sentences(problems)
        else:
            flat["_schema"] = _as_sentences(location_errors)
    return flat


def _as_sentences(problems: Any) -> list[str]:
    if isinstance(problems, dict):  # a nested field's errors: keep them readable
        return [f"{k} : {' '.join(_as_sentences(v))}" for k, v in problems.items()]
    if isinstance(problems, list):
        return [str(p) for p in problems]
    return [str(problems)]


def from_http_exception(error: HTTPException) -> ApiError:
    code = BY_HTTP_STATUS.get(error.code or 500, "internal_error")
    data = getattr(error, "data", None) or {}
    errors = flatten_webargs(data.get("messages")) if "messages" in data else None
    headers = dict(data.get("headers") or {})
    valid_methods = getattr(error, "valid_methods", None)
    if valid_methods:  # a 405 says which methods the address allows (RFC 9110)
        headers["Allow"] = ", ".join(sorted(valid_methods))
    return ApiError(code, errors=errors or None, headers=headers or None)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Any:
        return error_response(error)

    @app.errorhandler(domain.DomainError)
    def domain_error(error: domain.DomainError) -> Any:
        code = next((c for t, c in DOMAIN_ERRORS.items() if isinstance(error, t)), None)
        if code is None:
            log.exception("unmapped domain error")
            return error_response(ApiError("conflict"))
        headers = {}
        if isinstance(error, domain.CredentialsEmailCapError):
            headers["Retry-After"] = str(error.retry_after_seconds)
        message = next((m for t, m in DOMAIN_MESSAGES.items() if isinstance(error, t)), None)
        return error_response(ApiError(code, headers=headers, message=message))

    @app.errorhandler(domain.WrongPasswordError)
    def wrong_password(error: domain.WrongPasswordError) -> Any:
        return error_response(
            ApiError("validation_error", errors={error.field: ["Mot de passe incorrect."]})
        )

    @app.errorhandler(domain.PasskeyRefusedError)
    def passkey_refused(error: domain.PasskeyRefusedError) -> Any:
        log.info("passkey refused", extra={"reason": str(error)})
        return error_response(ApiError("validation_error", errors={"credential": [
            "La clé d'accès n'a pas été reconnue. Réessayez, ou utilisez une autre méthode."
        ]}))

    @app.errorhandler(domain.FieldError)
    def field_error(error: domain.FieldError) -> Any:
        return error_response(ApiError("validation_error", errors={error.field: [error.message]}))

    @app.errorhandler(domain.WeakPasswordError)
    def weak_password(error: domain.WeakPasswordError) -> Any:
        return error_response(ApiError("weak_password", errors={"new_password": error.problems}))

    @app.errorhandler(IntegrityError)
    def integrity_error(error: IntegrityError) -> Any:
        return error_response(ApiError("conflict"))

    for kind in UNAVAILABLE:
        app.register_error_handler(kind, _unavailable)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:
        if isinstance(error, HTTPException):
            return error_response(from_http_exception(error))
        log.exception("unexpected error")
        return error_response(ApiError("internal_error"))


def _unavailable(error: Exception) -> Any:
    log.warning("dependency unavailable: %s", type(error).__name__)
    return error_response(ApiError("service_unavailable", headers={"Retry-After": "5"}))
