"""Bearer tokens and roles."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request

from adapters.http.errors import ApiError
from adapters.http.services import services


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 200:
        return None
    return token.strip()


def require_staff(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Only a staff token of one of these roles gets through; g.staff is who it is."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = bearer_token()
            staff = services().staff_tokens.find(token) if token else None
            if staff is None:
                raise ApiError("authentication_required", headers={"WWW-Authenticate": "Bearer"})
            if staff.role not in roles:
                raise ApiError("forbidden")
            g.staff = staff
            return view(*args, **kwargs)

        return wrapper

    return decorator
