"""Operations endpoints: liveness and readiness."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from adapters.http.errors import UNAVAILABLE, ApiError
from adapters.http.services import services
from adapters.metrics import exposition

blp = Blueprint("ops", __name__)


@blp.get("/healthz")
def healthz() -> Any:
    return jsonify(status="ok")


@blp.get("/readyz")
def readyz() -> Any:
    s = services()
    problems = {}
    try:
        s.database.ping()
    except UNAVAILABLE:
        problems["database"] = ["Base de données injoignable."]
    try:
        s.outbox.check()
    except UNAVAILABLE:
        problems["broker"] = ["File de messages injoignable."]
    if problems:
        raise ApiError("service_unavailable", errors=problems)
    return jsonify(status="ready", database=s.database.kind, broker=s.outbox.kind)


@blp.get("/metrics")
def metrics() -> Any:
    return Response(exposition(services()), mimetype="text/plain; version=0.0.4")
