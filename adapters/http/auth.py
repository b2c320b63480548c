"""Bearer tokens: member sessions and staff tokens, and what each may call."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request

from adapters.http.errors import ApiError
from adapters.http.services import services
from adapters.sessions import MemberSession
from adapters.staff_tokens import Staff

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


def _caller(*, member_first: bool) -> tuple[Staff | None, MemberSession | None]:
    """Who the bearer token belongs to: a staff member or a member's session (401 if neither).
    The kind an endpoint expects is looked up first, so its callers pay one query."""
    token = bearer_token()
    if token is None:
        raise _unauthenticated()
    s = services()
    if member_first:
        session = s.sessions.find(token)
        staff = None if session is not None else s.staff_tokens.find(token)
    else:
        staff = s.staff_tokens.find(token)
        session = None if staff is not None else s.sessions.find(token)
    if staff is None and session is None:
        raise _unauthenticated()
    return staff, session


def require_staff(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Only a staff token of one of these roles gets through; g.staff is who it is."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            staff, _ = _caller(member_first=False)
            if staff is None or staff.role not in roles:
                raise ApiError("forbidden")  # another role, or a member's session
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
            _, session = _caller(member_first=True)
            if session is None:
                raise ApiError("forbidden")  # a staff token on a member endpoint
            if session.temporary and not temporary_allowed:
                raise ApiError("password_change_required")
            g.session = session
            return view(*args, **kwargs)

        return wrapper

    return decorator
