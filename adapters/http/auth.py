"""Bearer tokens: member sessions and staff tokens, and what each may call."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request

from adapters.http.errors import ApiError
from adapters.http.services import services

# For the OpenAPI document: operations that need a bearer token say so.
BEARER = {"security": [{"bearer": []}]}


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 200:
        return None
    return token.strip()


def _unauthenticated() -> ApiError:
    return ApiError("authentication_required", headers={"WWW-Authenticate": "Bearer"})


def require_staff(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Only a staff token of one of these roles gets through; g.staff is who it is."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = bearer_token()
            if token is None:
                raise _unauthenticated()
            s = services()
            staff = s.staff_tokens.find(token)
            if staff is None:
                if s.sessions.find(token) is not None:
                    raise ApiError("forbidden")  # a member's session on a staff endpoint
                raise _unauthenticated()
            if staff.role not in roles:
                raise ApiError("forbidden")
            g.staff = staff
            return view(*args, **kwargs)

        return wrapper

    return decorator


def require_member(
    *, temporary_allowed: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A live member session; one opened with a temporary password only where allowed."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = bearer_token()
            if token is None:
                raise _unauthenticated()
            s = services()
            session = s.sessions.find(token)
            if session is None:
                if s.staff_tokens.find(token) is not None:
                    raise ApiError("forbidden")  # a staff token on a member endpoint
                raise _unauthenticated()
            if session.temporary and not temporary_allowed:
                raise ApiError("password_change_required")
            g.session = session
            return view(*args, **kwargs)

        return wrapper

    return decorator
