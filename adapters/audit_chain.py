"""`audit verify`'s walk of the hash chain: every stream's versions follow on, every event
carries its predecessor's hash, and still hashes to what the audit index recorded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from adapters.event_store import PREVIOUS, as_uuid, event_hash, previous_hash
from adapters.progress import Progress, no_progress
from projections.audit import AuditView


@dataclass
class ChainReport:
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    versions: dict[UUID, int] = field(default_factory=dict)  # each stream's last version


def verify_chain(
    app: Application[Any], audit: AuditView, say: Callable[[str], None] = print,
    batch: int = 1000, progress: Progress = no_progress,
) -> ChainReport:
    """Walk the log in order: each stream's versions must follow on, each event must carry its
    predecessor's hash, and each must still hash to what the audit index recorded when it was
    written. Every problem names its event."""
    report = ChainReport()
    hashes: dict[UUID, str] = {}  # each stream's last hash so far
    head = app.recorder.max_notification_id() or 0
    indexed = audit.max_tracking_id("audit") or 0
    start = 1
    while notifications := app.recorder.select_notifications(start=start, limit=batch, stop=head):
        recorded = audit.recorded_hashes(start, notifications[-1].id)
        for stored in notifications:
            report.problems.extend(check_link(stored, report, hashes, recorded, indexed))
            report.checked += 1
        report.problems.extend(deleted(recorded))
        start = notifications[-1].id + 1
        progress("hash chain (events)", notifications[-1].id, head)  # positions: gaps too
    report.problems.extend(deleted(audit.recorded_hashes(start, None)))
    say(f"hash chain: {report.checked} events in {len(report.versions)} streams checked")
    return report


def check_link(
    stored: Any, report: ChainReport, hashes: dict[UUID, str],
    recorded: dict[int, dict[str, Any]], indexed: int, event: Any = None,
) -> list[str]:
    """One event of the walk: its place in its stream, its link to its predecessor, its hash
    against the audit index's record (taken out of `recorded`); the problems, naming it.
    `event`: the same stored event decoded, whose hash and link are then taken as made."""
    stream, version = as_uuid(stored.originator_id), stored.originator_version
    problems: list[str] = []
    digest = event_hash(stored) if event is None else event._hash
    prior = report.versions.get(stream, 0)
    try:
        link = previous_hash(stored) if event is None else getattr(event, PREVIOUS)
    except ValueError as error:
        problems.append(f"{named(stored)}: unreadable ({error})")
    else:
        if version != prior + 1:
            problems.append(f"{named(stored)}: follows version {prior} of its stream"
                            " (events missing or reordered)")
        elif link != hashes.get(stream):
            problems.append(f"{named(stored)}: does not carry its predecessor's hash (it or"
                            " the one before it was changed, or they were reordered)")
    row = recorded.pop(stored.id, None)
    if row is not None and row["hash"] != digest:
        problems.append(f"{named(stored)}: changed since it was written")
    elif row is None and stored.id <= indexed:
        problems.append(f"{named(stored)}: missing from the audit index")
    report.versions[stream], hashes[stream] = version, digest
    return problems


def named(stored: Any) -> str:
    stream, version = as_uuid(stored.originator_id), stored.originator_version
    return f"position {stored.id} ({_type(stored.topic)}, stream {stream} version {version})"


def _type(topic: str) -> str:
    """`Account.SignedIn` from the topic; the audit index keeps the last part alone."""
    return topic.rsplit(":", 1)[-1].rsplit(".", 1)[-1]


def deleted(rows: dict[int, dict[str, Any]]) -> list[str]:
    return [
        f"position {position} ({row['type']}, stream {row['stream_id']} version"
        f" {row['version']}): deleted from the event store"
        for position, row in sorted(rows.items())
    ]


def seed_predecessors(
    app: Application[Any], notifications: Any, report: ChainReport, hashes: dict[UUID, str]
) -> None:
    """For a walk that starts part-way through the log: each stream met for the first time
    is linked to the event stored before it, read alone (one per stream, not the stream)."""
    met = set(report.versions)
    for stored in notifications:
        stream, version = as_uuid(stored.originator_id), stored.originator_version
        if stream in met:
            continue
        met.add(stream)
        if version == 1:
            continue
        before = app.recorder.select_events(stream, lte=version - 1, desc=True, limit=1)
        report.versions[stream] = before[0].originator_version if before else 0
        if before:
            hashes[stream] = event_hash(before[0])
