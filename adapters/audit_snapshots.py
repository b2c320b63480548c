"""`audit verify`'s check of the snapshots against the events they stand for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.application import Application
from eventsourcing.utils import get_topic

from adapters.audit_chain import ChainReport
from domain.personal_data import PERSONAL_STATE, is_erased


def verify_snapshots(
    app: Application[Any], chain: ChainReport, say: Callable[[str], None] = print
) -> list[str]:
    """A snapshot is a shortcut the application loads instead of the events: each one must be
    the state its stream's events give at its version, or a changed snapshot would change what
    the application believes without breaking any chain."""
    if app.snapshots is None:
        return []
    prefixes = tuple(f"{get_topic(cls)}." for cls in app.snapshotting_intervals or {})
    problems, checked = [], 0
    for stream, topic in chain.topics.items():
        if not topic.startswith(prefixes):
            continue
        for snapshot in app.snapshots.get(stream):
            checked += 1
            replayed, erased = None, is_erased(snapshot)
            for event in app.events.get(stream, lte=snapshot.originator_version):
                replayed = event.mutate(replayed)
                erased = erased or is_erased(event)
            if replayed is None or replayed.version != snapshot.originator_version:
                problems.append(f"snapshot of stream {stream} at version"
                                f" {snapshot.originator_version}: no such version")
                continue
            personal = PERSONAL_STATE.get(type(replayed).__name__, {}) if erased else {}
            expected = _current(type(replayed), type(snapshot).take(replayed).state)
            stored = _current(type(replayed), snapshot.state)
            if _comparable(app, expected, personal) != _comparable(app, stored, personal):
                problems.append(f"snapshot of stream {stream} at version"
                                f" {snapshot.originator_version}: differs from its events")
    say(f"snapshots: {checked} checked against their events")
    return problems


def _current(cls: type, state: dict[str, Any]) -> dict[str, Any]:
    """A snapshot's state as this release loads it: a snapshot an older release took has an
    older shape, which the aggregate's upcasters bring up to date (as the library does)."""
    state = dict(state)
    version = state.pop("class_version", 1)
    while version < getattr(cls, "class_version", 1):
        getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
        version += 1
    return state


def _comparable(app: Application[Any], state: dict[str, Any], leave_out: Any) -> bytes:
    # Personal attributes cannot be compared once erased (the events' placeholders and the
    # snapshot's differ in kind); every other attribute still must agree.
    kept = {k: v for k, v in state.items() if k not in leave_out}
    return app.mapper.transcoder.encode(dict(sorted(kept.items())))
