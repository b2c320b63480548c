"""`audit verify`'s check of the snapshots against the events they stand for."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent

from adapters.database import Database
from adapters.progress import Progress, no_progress
from domain.personal_data import PERSONAL_STATE, is_erased

# Streams whose snapshots and events are read in one query each.
STREAMS_PER_READ = 200


def verify_snapshots(
    app: Application[Any], say: Callable[[str], None] = print,
    progress: Progress = no_progress,
) -> list[str]:
    """A snapshot is a shortcut the application loads instead of the events: each one must be
    the state its stream's events give at its version, or a changed snapshot would change what
    the application believes without breaking any chain.

    Only the streams that have snapshots are read (listed in one query: most members never
    reach one), each stream's events once whatever its number of snapshots. The full run
    checks them as it walks the log instead (audit_snapshot_watch.py)."""
    store = snapshot_store(app)
    if store is None:
        return []
    database, table = store
    # Keys as the driver returns them (UUID or text), to be bound back as they are.
    streams = [row["originator_id"] for row in database.run(
        f"SELECT DISTINCT originator_id FROM {table}")]  # noqa: S608 (the library's name)
    problems, checked = check_streams(app, streams, progress=progress)
    say(f"snapshots: {checked} checked against their events")
    return problems


def snapshot_store(app: Application[Any]) -> tuple[Database, str] | None:
    """The database and table of the application's snapshots, if it takes any."""
    if app.snapshots is None:
        return None
    recorder = app.snapshots.recorder
    return Database(recorder.datastore), recorder.events_table_name  # type: ignore[attr-defined]


def check_streams(
    app: Application[Any], streams: list[Any], after: Callable[[Any], int] = lambda _: 0,
    progress: Progress = no_progress,
) -> tuple[list[str], int]:
    """The snapshots of these streams (keys as the driver gives them) after version
    `after(key)` against their events, a batch of streams' snapshots and events read in two
    queries and decoded together; the problems, and how many snapshots were checked."""
    database, table = snapshot_store(app) or (None, "")
    if database is None:
        return [], 0
    problems, checked = [], 0
    for first in range(0, len(streams), STREAMS_PER_READ):
        some = streams[first:first + STREAMS_PER_READ]
        since = {UUID(str(key)): after(key) for key in some}
        snapshots = _decoded(app.snapshots.mapper, database, table, some)  # type: ignore[union-attr]
        events = _decoded(app.mapper, database, app.recorder.events_table_name, some)
        for stream, taken in snapshots.items():
            left = [snapshot for snapshot in taken if snapshot.originator_version > since[stream]]
            checked += len(left)
            problems += _check_stream(app, stream, left, events.get(stream, []))
        progress("snapshots (streams)", first + len(some), len(streams))
    return problems, checked


def stored_events(rows: list[dict[str, Any]]) -> list[StoredEvent]:
    return [StoredEvent(originator_id=row["originator_id"],
                        originator_version=row["originator_version"],
                        topic=row["topic"], state=bytes(row["state"])) for row in rows]


def _decoded(
    mapper: Any, database: Database, table: str, streams: list[Any]
) -> dict[UUID, list[Any]]:
    """Every stored event of `table` for these streams, decoded in one go, by stream and in
    version order."""
    rows = database.run(
        f"SELECT originator_id, originator_version, topic, state FROM {table}"  # noqa: S608
        " WHERE originator_id IN (" + ", ".join(["%s"] * len(streams)) + ")"
        " ORDER BY originator_id, originator_version", streams,
    )
    by_stream: dict[UUID, list[Any]] = {}
    for event in mapper.to_domain_events(stored_events(rows)):
        by_stream.setdefault(event.originator_id, []).append(event)
    return by_stream


def _check_stream(
    app: Application[Any], stream: UUID, snapshots: list[Any], events: list[Any]
) -> list[str]:
    """Each of a stream's snapshots against its events, replayed once up to the last."""
    problems = []
    replayed, erased_before, upcoming = None, False, iter(events)
    for snapshot in snapshots:
        for event in upcoming:
            replayed = event.mutate(replayed)
            erased_before = erased_before or is_erased(event)
            if replayed is not None and replayed.version >= snapshot.originator_version:
                break
        if replayed is None or replayed.version != snapshot.originator_version:
            problems.append(f"snapshot of stream {stream} at version"
                            f" {snapshot.originator_version}: no such version")
            continue
        erased = erased_before or is_erased(snapshot)
        cls = type(replayed)
        personal = PERSONAL_STATE.get(cls.__name__, {}) if erased else {}
        if not states_agree(app, cls, type(snapshot).take(replayed).state, snapshot.state,
                            personal):
            problems.append(f"snapshot of stream {stream} at version"
                            f" {snapshot.originator_version}: differs from its events")
    return problems


def states_agree(
    app: Application[Any], cls: type, replayed: dict[str, Any], stored: dict[str, Any],
    leave_out: Any,
) -> bool:
    """A snapshot's state against the one its events give: value by value and type by type
    first, encoded (comparable) only when that finds a difference or personal attributes
    must be left out (erased)."""
    if not leave_out and identical(current(cls, replayed), current(cls, stored)):
        return True
    return comparable(app, cls, replayed, leave_out) == comparable(app, cls, stored, leave_out)


def comparable(
    app: Application[Any], cls: type, state: dict[str, Any], leave_out: Any
) -> bytes:
    """An aggregate's state as this release loads it, encoded, without `leave_out`: personal
    attributes cannot be compared once erased (the events' placeholders and the snapshot's
    differ in kind); every other attribute still must agree."""
    kept = {k: v for k, v in current(cls, state).items() if k not in leave_out}
    return app.mapper.transcoder.encode(dict(sorted(kept.items())))


def current(cls: type, state: dict[str, Any]) -> dict[str, Any]:
    """A snapshot's state as this release loads it: a snapshot an older release took has an
    older shape, which the aggregate's upcasters bring up to date (as the library does)."""
    state = dict(state)
    version = state.pop("class_version", 1)
    while version < getattr(cls, "class_version", 1):
        getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
        version += 1
    return state


def identical(a: Any, b: Any) -> bool:
    """Equal and of the same types throughout (True is not 1, a time in another zone not the
    same time): what decides that two states encode alike without encoding them. A str
    enumeration is its value (the aggregate's status, read back from a snapshot as text)."""
    return bool(a == b) and _same_kinds(a, b)


_PLAIN = frozenset({str, int, float, bool, type(None), UUID})


def _same_kinds(a: Any, b: Any) -> bool:
    """For two equal values (so dicts of the same keys, sequences of the same length)."""
    kind = type(a)
    if kind is not type(b):
        return isinstance(a, str) and isinstance(b, str)
    if kind in _PLAIN:
        return True
    if isinstance(a, dict):
        return all(_same_kinds(value, b[key]) for key, value in a.items())
    if isinstance(a, list | tuple):
        return all(map(_same_kinds, a, b))
    if isinstance(a, datetime):
        return a.utcoffset() == b.utcoffset()
    return True
