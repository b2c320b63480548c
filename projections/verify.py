"""`audit verify`: replay the whole history into fresh read models and compare them, row by
row, with the live ones."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from adapters.database import Database
from projections.audit import AuditIndex, AuditView
from projections.portal import Portal, PortalView
from projections.runner import catch_up
from projections.support_queue import SupportQueue, SupportQueueView

# Each read model: its name, its view class and its projection class.
READ_MODELS: list[tuple[str, type, type]] = [
    ("support_queue", SupportQueueView, SupportQueue),
    ("portal", PortalView, Portal),
    ("audit", AuditView, AuditIndex),
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
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = InfrastructureFactory.construct(Environment("scratch", {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(Path(scratch_dir) / "scratch.sqlite3"),
        }))
        database = Database(scratch.datastore)  # type: ignore[attr-defined]
        tracking = scratch.tracking_recorder()
        for name, view_class, projection_class in READ_MODELS:
            live = live_views[name]
            while catch_up(app, projection_class(live), stop=head):
                pass
            rebuilt_view = view_class(database, tracking)
            rebuilt_view.create_tables()
            rebuilt = projection_class(rebuilt_view)
            while catch_up(app, rebuilt, stop=head):
                pass
            result.read_models[name] = compare(name, live.all_rows(), rebuilt_view.all_rows(),
                                               result.differences)
            say(f"{name}: {result.read_models[name]} rows compared")
        scratch.close()
    return result


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
