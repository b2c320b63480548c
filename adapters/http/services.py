"""Where a request finds the services create_app wired for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from app import Services


def services() -> Services:
    return current_app.extensions["accounts"]
