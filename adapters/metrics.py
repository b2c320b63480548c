"""What `/metrics` shows, with prometheus-client.

Counters and histograms are the library's: under gunicorn (several worker processes) and with
dramatiq worker processes on the same machine, set PROMETHEUS_MULTIPROC_DIR to one empty
directory for all of them and every process's counts add up in whichever API process is
scraped (the library's multiprocess mode). Projection lag and queue depth are read from the
database and the broker at scrape time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from projections.versions import building_name
from projections.view import positions

REQUESTS = Counter(
    "accounts_http_requests_total", "HTTP requests answered",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "accounts_http_request_seconds", "Time to answer an HTTP request", ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
REGISTRATIONS = Counter(
    "accounts_registrations_total", "Registrations decided, by first answer", ["outcome"]
)
SIGN_INS = Counter("accounts_sign_ins_total", "Sign-in attempts on an account", ["result"])
LOCKOUTS = Counter("accounts_lockouts_total", "Accounts locked after repeated failures")
EMAILS = Counter("accounts_emails_total", "E-mails handed to the mail server", ["mail", "result"])
EMAIL_DELAY = Histogram(
    "accounts_email_delay_seconds", "From the commit that asked for an e-mail to its acceptance",
    ["mail"], buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)

# Event type -> (counter, labels): what the committed events say happened.
_EVENT_COUNTS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "IdentityMatched": (REGISTRATIONS, ("accepted",)),
    "IdentityMismatchFlagged": (REGISTRATIONS, ("identity_review",)),
    "RegistrationRefused": (REGISTRATIONS, ("refused",)),
    "SignedIn": (SIGN_INS, ("success",)),
    "SignedInWithPasskey": (SIGN_INS, ("success",)),
    "SignedInWithRecoveryCode": (SIGN_INS, ("success",)),
    "SignInFailed": (SIGN_INS, ("failure",)),
    "AccountLocked": (LOCKOUTS, ()),
}


def count_events(events: Sequence[Any]) -> None:
    """Called with each commit's events, in the process that made them."""
    for event in events:
        found = _EVENT_COUNTS.get(type(event).__name__)
        if found is not None:
            counter, labels = found
            (counter.labels(*labels) if labels else counter).inc()


def observe_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(endpoint, method, str(status)).inc()
    LATENCY.labels(endpoint, method).observe(seconds)


def observe_email(mail: str, result: str, enqueued_ms: int | None = None) -> None:
    EMAILS.labels(mail, result).inc()
    if result == "sent" and enqueued_ms is not None:
        EMAIL_DELAY.labels(mail).observe(max(0.0, time.time() - enqueued_ms / 1000))


class ProjectionLag(Collector):
    """How far each read model is behind the event log, in events and in seconds (the age of
    the oldest event it has not applied)."""

    def __init__(self, services: Any):
        self.services = services

    def collect(self) -> Iterator[Metric]:
        s = self.services
        recorder = s.lifecycle.recorder
        head = recorder.max_notification_id() or 0
        lag = GaugeMetricFamily(
            "accounts_projection_lag_events",
            "Events recorded but not yet applied to the read model", labels=["projection"],
        )
        seconds = GaugeMetricFamily(
            "accounts_projection_lag_seconds",
            "Age of the oldest event not yet applied to the read model", labels=["projection"],
        )
        position = GaugeMetricFamily(
            "accounts_projection_position",
            "Last event position applied to the read model", labels=["projection"],
        )
        now = datetime.now(UTC)
        # Every live read model, those a newer version is being built beside included.
        live = s.projections.projections
        held = positions((p.view, p.name) for p in live)
        # The read models are mostly at one position: its oldest unapplied event is read and
        # decoded once, not once for each (a scrape was four reads of the log and four
        # unsealings under load).
        ages: dict[int, float] = {}
        for name in (p.name for p in live):
            applied = held[name]
            behind = max(0, head - applied)
            if behind and applied not in ages:
                ages[applied] = self.age(applied, now)
            age = ages.get(applied, 0.0) if behind else 0.0
            lag.add_metric([name], behind)
            seconds.add_metric([name], age)
            position.add_metric([name], applied)
        yield from (lag, seconds, position)
        yield from self.versions(head)

    def age(self, applied: int, now: datetime) -> float:
        """Seconds since the first event after position `applied` was recorded."""
        s = self.services
        oldest = s.lifecycle.recorder.select_notifications(start=applied + 1, limit=1)
        if not oldest:
            return 0.0
        event = s.lifecycle.mapper.to_domain_event(oldest[0])
        return max(0.0, (now - event.timestamp).total_seconds())

    def versions(self, head: int) -> Iterator[Metric]:
        """Each read model's live version, and how far a new one being built beside it is."""
        live = GaugeMetricFamily(
            "accounts_read_model_version", "Version of the read model serving",
            labels=["projection"],
        )
        built = GaugeMetricFamily(
            "accounts_read_model_rebuild_position",
            "Last event position applied to the version being built", labels=["projection",
                                                                              "version"],
        )
        behind = GaugeMetricFamily(
            "accounts_read_model_rebuild_lag_events",
            "Events the version being built has still to apply", labels=["projection", "version"],
        )
        views = self.services.read_models
        for name, (version, building) in sorted(views.versions().items()):
            live.add_metric([name], version)
            if building is not None:
                at = self.services.audit.max_tracking_id(building_name(name, building)) or 0
                built.add_metric([name, str(building)], at)
                behind.add_metric([name, str(building)], max(0, head - at))
        yield from (live, built, behind)


class QueueDepth(Collector):
    """Messages waiting in the mail queue (and retries waiting for their time)."""

    def __init__(self, broker: Any):
        self.broker = broker

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "accounts_queue_depth", "Messages waiting in the queue", labels=["queue"]
        )
        client = getattr(self.broker, "client", None)
        for queue in ("mail", "mail.DQ"):
            if client is not None:  # Redis: dramatiq keeps each queue's message ids in a list
                waiting = client.llen(f"{self.broker.namespace}:{queue}")
            else:
                stub = self.broker.queues.get(queue)
                waiting = stub.qsize() if stub is not None else 0
            depth.add_metric([queue], waiting)
        yield depth


def exposition(services: Any) -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY  # this process alone
    measured = CollectorRegistry()
    measured.register(ProjectionLag(services))
    measured.register(QueueDepth(services.broker))
    return generate_latest(counted) + generate_latest(measured)
