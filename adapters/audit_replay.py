"""`audit verify`'s replay: bring the live read models to the log's head, rebuild each one
from zero in a scratch database, and compare every row."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory, Tracking
from eventsourcing.utils import Environment

from adapters.database import Database
from adapters.progress import Progress, no_progress
from adapters.read_ahead import read_ahead
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
    app: Application[Any], live_views: dict[str, Any], say: Callable[[str], None] = print,
    progress: Progress = no_progress, head: int | None = None,
    fill: Callable[[list[Any]], None] | None = None,
) -> Verification:
    """Bring the live read models up to the log's head (or position `head`), rebuild each
    one from zero in a scratch SQLite database, and compare every row of every table. The
    rebuilt projections are filled by `fill` if given (the full run's walk of the log),
    else by a replay of their own."""
    if head is None:
        head = app.recorder.max_notification_id() or 0
    result = Verification(head)
    models = [model for model in READ_MODELS if model[0] in live_views]
    with scratch_projections(models) as rebuilt:
        if fill is not None:
            fill(list(rebuilt.values()))
        else:
            replay(app, list(rebuilt.values()), stop=head, progress=progress)
        # The live ones after: an event that cannot be decoded stops this, and `fill`'s
        # checks of the log have been made by then.
        for name, _, projection_class in models:
            while catch_up(app, projection_class(live_views[name]), stop=head):
                pass
        for name, projection in rebuilt.items():
            result.read_models[name] = compare(
                name, live_views[name].all_rows(), projection.view.all_rows(), result.differences
            )
            say(f"{name}: {result.read_models[name]} rows compared")
    return result


def verify_audit_since(app: Application[Any], live: AuditView, after: int, head: int) -> list[str]:
    """`audit verify --since`'s check of the audit index: its rows for the events after
    position `after`, rebuilt from those events alone (an event's row and the stream it opens
    depend on that event only), against the live rows."""
    with scratch_projections([("audit", AuditView, AuditIndex)]) as rebuilt:
        replay(app, list(rebuilt.values()), stop=head, start=after + 1)
        fresh = rebuilt["audit"].view.all_rows()
    opened = [row["stream_id"] for row in fresh["audit_streams"]]
    streams = []
    with live.database.transaction(commit=False) as cursor:
        cursor.execute("SELECT * FROM audit_events WHERE position > %s AND position <= %s",
                       (after, head))
        events = cursor.fetchall()
        for first in range(0, len(opened), 500):  # the streams the new events opened only
            some = opened[first:first + 500]
            cursor.execute("SELECT * FROM audit_streams WHERE stream_id IN ("  # noqa: S608
                           + ", ".join(["%s"] * len(some)) + ")", some)
            streams += cursor.fetchall()
    # Keyed rather than in order: a row is named by its event's position or its stream.
    return [
        *_keyed("audit.audit_events", "position", events, fresh["audit_events"]),
        *_keyed("audit.audit_streams", "stream_id", streams, fresh["audit_streams"]),
    ]


def _keyed(
    table: str, key: str, live: list[dict[str, Any]], rebuilt: list[dict[str, Any]]
) -> list[str]:
    """Each rebuilt row against the live row of its key. A live event row that no event
    rebuilt is the chain walk's to name (deleted from the event store)."""
    live_rows = {str(row[key]): _normal(row) for row in live}
    differences = []
    for row in map(_normal, rebuilt):
        there = live_rows.get(str(row[key]))
        if there is None:
            differences.append(f"{table} {key} {row[key]}: missing from the live rows")
        elif there != row:
            changed = sorted(k for k in row if there.get(k) != row[k])
            differences.append(f"{table} {key} {row[key]}: differs in {changed}")
    return differences


@contextmanager
def scratch_projections(models: list[tuple[str, type, type]]) -> Iterator[dict[str, Any]]:
    """Each model's projection over empty tables of a scratch database, by name."""
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
        yield rebuilt
    finally:
        scratch.close()


def replay(
    app: Application[Any], projections: list[Any], stop: int, batch: int = 1000, start: int = 1,
    progress: Progress = no_progress,
    also: Callable[[Sequence[Any], Sequence[Any]], None] | None = None,
) -> None:
    """Every event from `start` up to `stop`, decoded once, through each of the projections
    (then shown to `also`, as Feed does)."""
    feed = Feed(app, projections, also=also)
    for notifications in read_ahead(log_batches(app, start, stop, batch)):
        feed(notifications)
        progress("replay (events)", notifications[-1].id, stop)


def log_batches(app: Application[Any], start: int, stop: int, batch: int) -> Iterator[Any]:
    """The stored events from position `start` up to `stop`, `batch` at a time."""
    while notifications := app.recorder.select_notifications(start=start, limit=batch, stop=stop):
        yield notifications
        start = notifications[-1].id + 1


class Feed:
    """Batches of stored events decoded once and applied to each projection, a batch in one
    transaction of each (one per event was most of a full verify's time), then shown to
    `also` (the full run's snapshot check) with the events decoded."""

    def __init__(self, app: Application[Any], projections: list[Any],
                 also: Callable[[Sequence[Any], Sequence[Any]], None] | None = None):
        self.app, self.projections, self.also = app, projections, also
        # Bound once: functools' singledispatchmethod builds a wrapper at each access.
        self.handlers = [(projection.name, projection.process_event) for projection in projections]

    def __call__(self, notifications: Sequence[Any]) -> list[Any]:
        """The batch decoded, applied, shown; the events decoded."""
        events = decoded(self.app, notifications)
        with ExitStack() as batches:
            for projection in self.projections:
                batches.enter_context(projection.view.batch())
            for notification, event in zip(notifications, events, strict=True):
                for name, process in self.handlers:
                    process(event, Tracking(name, notification.id))
        if self.also is not None:
            self.also([notification.originator_id for notification in notifications], events)
        return events


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
            # Most rows are equal as the drivers give them; only the others are normalised.
            if left != right and _normal(left) != _normal(right):
                changed = sorted(k for k in right if _normal(left).get(k) != _normal(right)[k])
                differences.append(f"{name}.{table} row {index + 1}: differs in {changed}")
    return compared


def _normal(row: dict[str, Any]) -> dict[str, Any]:
    # PostgreSQL and SQLite return the same values but for integer booleans and such.
    return {k: (str(v) if v is not None else None) for k, v in row.items()}
