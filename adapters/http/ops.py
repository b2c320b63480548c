"""Operations endpoints: liveness and readiness."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from adapters.http.errors import UNAVAILABLE, ApiError
from adapters.http.services import services

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


class ProjectionLag(Collector):
    """How far each read model is behind the event log, read at scrape time."""

    def __init__(self, services_: object):
        self.services = services_

    def collect(self):
        s = self.services
        head = s.lifecycle.recorder.max_notification_id() or 0
        lag = GaugeMetricFamily(
            "accounts_projection_lag_events",
            "Events recorded but not yet applied to the read model",
            labels=["projection"],
        )
        position = GaugeMetricFamily(
            "accounts_projection_position",
            "Last event position applied to the read model",
            labels=["projection"],
        )
        views = (("support_queue", s.support_queue), ("portal", s.portal), ("audit", s.audit))
        for name, view in views:
            applied = view.max_tracking_id(name) or 0
            lag.add_metric([name], max(0, head - applied))
            position.add_metric([name], applied)
        yield lag
        yield position


@blp.get("/metrics")
def metrics() -> Any:
    s = services()
    registry = CollectorRegistry()
    registry.register(ProjectionLag(s))
    return Response(generate_latest(registry), mimetype="text/plain; version=0.0.4")
