"""Where a request finds the services create_app wired for it (bootstrap.py's Services).

Typed loosely on purpose: an adapter never imports the composition root, so the web layer
sees it only through the Flask app that the entry point (app.py) hands it to."""

from __future__ import annotations

from typing import Any

from flask import current_app


def services() -> Any:
    return current_app.extensions["accounts"]
