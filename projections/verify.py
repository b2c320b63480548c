"""`audit verify`: walk every stream's hash chain, then replay the whole history into fresh
read models and compare them, row by row, with the live ones."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from adapters.database import Database
from adapters.event_store import event_hash, previous_hash
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


def verify_chain(
    app: Application[Any], audit: AuditView, say: Callable[[str], None] = print,
    batch: int = 1000,
) -> tuple[int, list[str]]:
    """Walk the log in order: each stream's versions must follow on, each event must carry its
    predecessor's hash, and each must still hash to what the audit index recorded when it was
    written. Returns how many events were checked and the problems, each naming its event."""
    problems: list[str] = []
    last: dict[UUID, tuple[int, str]] = {}  # stream -> its latest version and hash so far
    head = app.recorder.max_notification_id() or 0
    indexed = audit.max_tracking_id("audit") or 0
    checked, start = 0, 1
    while notifications := app.recorder.select_notifications(start=start, limit=batch, stop=head):
        recorded = audit.recorded_hashes(start, notifications[-1].id)
        for stored in notifications:
            stream, version = UUID(str(stored.originator_id)), stored.originator_version
            name = (
                f"position {stored.id} ({stored.topic.rsplit(':', 1)[-1]}, stream {stream}"
                f" version {version})"
            )
            digest = event_hash(stored)
            prior_version, prior_hash = last.get(stream, (0, None))
            if version != prior_version + 1:
                problems.append(
                    f"{name}: follows version {prior_version} of its stream"
                    + (" (events deleted)" if version > prior_version + 1 else " (reordered)")
                )
            elif previous_hash(stored) != prior_hash:
                problems.append(f"{name}: does not carry its predecessor's hash (it or the"
                                " one before it was changed, or they were reordered)")
            row = recorded.pop(stored.id, None)
            if row is not None and row["hash"] != digest:
                problems.append(f"{name}: changed since it was written")
            elif row is None and stored.id <= indexed:
                problems.append(f"{name}: missing from the audit index")
            last[stream] = (version, digest)
            checked += 1
        problems.extend(_deleted(recorded))
        start = notifications[-1].id + 1
    problems.extend(_deleted(audit.recorded_hashes(start, None)))
    say(f"hash chain: {checked} events in {len(last)} streams checked")
    return checked, problems


def _deleted(rows: dict[int, dict[str, Any]]) -> list[str]:
    return [
        f"position {position} ({row['type']}, stream {row['stream_id']} version"
        f" {row['version']}): deleted from the event store"
        for position, row in sorted(rows.items())
    ]
