"""`audit verify`'s replay: bring the live read models to the log's head, rebuild each one
from zero in a scratch database, and compare every row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory, Tracking
from eventsourcing.utils import Environment

from adapters.database import Database
from projections.audit import AuditIndex, AuditView
from projections.audit_tree import AuditTree, AuditTreeView
from projections.portal import Portal, PortalView
from projections.runner import catch_up, decoded
from projections.support_queue import SupportQueue, SupportQueueView

# Each read model: its name, its view class and its projection class.
READ_MODELS: list[tuple[str, type, type]] = [
    ("support_queue", SupportQueueView, SupportQueue),
    ("portal", PortalView, Portal),
    ("audit", AuditView, AuditIndex),
    ("audit_tree", AuditTreeView, AuditTree),
]


@dataclass
class Verification:
    head: int
    read_models: dict[str, int] = field(default_factory=dict)  # rows compared per read model
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def verify_read_models(
    app: Application[Any], live_views: dict[str, Any], say: Callable[[str], None] = print
) -> Verification:
    """Bring the live read models up to the log's head, rebuild each one from zero in a scratch
    SQLite database, and compare every row of every table."""
    head = app.recorder.max_notification_id() or 0
    result = Verification(head)
    models = [model for model in READ_MODELS if model[0] in live_views]
    for name, _, projection_class in models:
        while catch_up(app, projection_class(live_views[name]), stop=head):
            pass
    # In memory: a scratch copy needs no durability, and a file would sync every event.
    scratch = InfrastructureFactory.construct(Environment("scratch", {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": f"file:verify-{uuid4().hex}?mode=memory&cache=shared",
    }))
    try:
        database = Database(scratch.datastore)  # type: ignore[attr-defined]
        tracking = scratch.tracking_recorder()
        rebuilt = {}
        for name, view_class, projection_class in models:
            view = view_class(database, tracking)
            view.create_tables()
            rebuilt[name] = projection_class(view)
        replay(app, list(rebuilt.values()), stop=head)
        for name, projection in rebuilt.items():
            result.read_models[name] = compare(
                name, live_views[name].all_rows(), projection.view.all_rows(), result.differences
            )
            say(f"{name}: {result.read_models[name]} rows compared")
    finally:
        scratch.close()
    return result


def replay(app: Application[Any], projections: list[Any], stop: int, batch: int = 1000) -> None:
    """Every event up to `stop`, decoded once, through each of the projections."""
    start = 1
    while notifications := app.recorder.select_notifications(start=start, limit=batch, stop=stop):
        for notification, event in zip(notifications, decoded(app, notifications), strict=True):
            for projection in projections:
                projection.process_event(event, Tracking(projection.name, notification.id))
        start = notifications[-1].id + 1


def compare(
    name: str,
    live: dict[str, list[dict[str, Any]]],
    rebuilt: dict[str, list[dict[str, Any]]],
    differences: list[str],
) -> int:
    compared = 0
    for table, rows in rebuilt.items():
        live_rows = live.get(table, [])
        if len(live_rows) != len(rows):
            differences.append(
                f"{name}.{table}: {len(live_rows)} live rows, {len(rows)} after replay"
            )
        for index, (left, right) in enumerate(zip(live_rows, rows, strict=False)):
            compared += 1
            if _normal(left) != _normal(right):
                changed = sorted(k for k in right if _normal(left).get(k) != _normal(right)[k])
                differences.append(f"{name}.{table} row {index + 1}: differs in {changed}")
    return compared


def _normal(row: dict[str, Any]) -> dict[str, Any]:
    # PostgreSQL and SQLite return the same values but for integer booleans and such.
    return {k: (str(v) if v is not None else None) for k, v in row.items()}
