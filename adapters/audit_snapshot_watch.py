"""The full `audit verify`'s snapshot check, fed by its one read of the log: each snapshotted
stream's aggregate is replayed from the events the walk decodes anyway (not read and decoded a
second time), and its state at each snapshot's version is compared with the snapshot.

A stream is followed from its first event to its last snapshot. At most TRACKED_MAX are
followed at once (a decade of members whose snapshots come years after their first event
would not fit in memory): beyond, the oldest is let go and its remaining snapshots are checked
at the end by reading its events again (audit_snapshots.py). If the snapshots checked do not
add up to the snapshots stored (a stream whose first event is gone), all are checked that way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Snapshot

from adapters.audit_snapshots import check_streams, snapshot_store, states_agree, stored_events
from adapters.event_store import as_uuid
from domain.personal_data import PERSONAL_STATE, is_erased

TRACKED_MAX = 100_000


@dataclass
class _Followed:
    key: Any  # the stream's id as the driver gives it, to be bound back as it is
    pending: list[int]  # the versions of its snapshots not reached yet
    aggregate: Any = None
    erased: bool = False  # some event so far could not be opened (its key was destroyed)
    done: int = 0  # the last snapshot version compared


@dataclass
class SnapshotWatch:
    app: Application[Any]
    limit: int = TRACKED_MAX
    problems: list[str] = field(default_factory=list)
    checked: int = 0
    followed: dict[UUID, _Followed] = field(default_factory=dict)  # oldest first
    let_go: list[tuple[Any, int]] = field(default_factory=list)  # (key, last version done)

    def __post_init__(self) -> None:
        self.store = snapshot_store(self.app)

    def see(self, keys: Sequence[Any], events: Sequence[Any]) -> None:
        """A batch of the log: the stored originator ids and the events decoded from it."""
        if self.store is None:
            return
        database, _ = self.store
        # Bound as each store keeps it: PostgreSQL's uuid column a UUID, the library's SQLite
        # tables the UUID's 32 hex digits (as text, with its hyphens, no snapshot was ever
        # found here, and every one was read again at the end instead).
        keys = keys if database.kind == "postgresql" else [as_uuid(key).hex for key in keys]
        starting = [key for key, event in zip(keys, events, strict=True)
                    if event.originator_version == 1]
        versions = self._versions(starting) if starting else {}
        due = []  # the snapshots this batch reaches, read before it is replayed
        for key, event in zip(keys, events, strict=True):
            stream, version = event.originator_id, event.originator_version
            if version == 1 and stream in versions:
                self.followed[stream] = _Followed(key, versions[stream])
            followed = self.followed.get(stream)
            if followed is not None and version in followed.pending:
                due.append((followed.key, version))
        snapshots = self._stored(due) if due else {}
        for event in events:
            followed = self.followed.get(event.originator_id)
            if followed is not None:
                self._step(event.originator_id, followed, event, snapshots)
        while len(self.followed) > self.limit:
            stream = next(iter(self.followed))
            followed = self.followed.pop(stream)
            self.let_go.append((followed.key, followed.done))

    def finish(self) -> list[str]:
        """The snapshots never reached, those let go, and the count; the problems."""
        for stream, followed in self.followed.items():
            for version in followed.pending:
                self.checked += 1
                self.problems.append(f"snapshot of stream {stream} at version {version}:"
                                     " no such version")
        self.followed.clear()
        if self.store is None:
            return self.problems
        if self.let_go:
            after = {str(key): done for key, done in self.let_go}
            problems, checked = check_streams(
                self.app, [key for key, _ in self.let_go], after=lambda s: after[str(s)])
            self.problems += problems
            self.checked += checked
        database, table = self.store
        [row] = database.run(f"SELECT COUNT(*) AS stored FROM {table}")  # noqa: S608
        if int(row["stored"]) != self.checked:
            # Some snapshot's stream was never seen from its first event: check them all.
            streams = [r["originator_id"] for r in database.run(
                f"SELECT DISTINCT originator_id FROM {table}")]  # noqa: S608
            self.problems, self.checked = check_streams(self.app, streams)
        return self.problems

    def _step(
        self, stream: UUID, followed: _Followed, event: Any, snapshots: dict[Any, Any]
    ) -> None:
        try:
            followed.aggregate = event.mutate(followed.aggregate)
        except Exception as error:  # a stream whose events were tampered with: say so
            self.followed.pop(stream)
            self.checked += len(followed.pending)
            self.problems.append(f"snapshot check of stream {stream} failed at version"
                                 f" {event.originator_version}: {type(error).__name__}")
            return
        followed.erased = followed.erased or is_erased(event)
        version = event.originator_version
        while followed.pending and followed.pending[0] < version:  # passed over: missing
            self.checked += 1
            self.problems.append(f"snapshot of stream {stream} at version"
                                 f" {followed.pending.pop(0)}: no such version")
        if followed.pending and followed.pending[0] == version:
            followed.pending.pop(0)
            followed.done = version
            self.checked += 1
            snapshot = snapshots.get((stream, version))
            # None: removed since the versions were listed.
            if snapshot is not None and not self._agrees(followed, snapshot):
                self.problems.append(f"snapshot of stream {stream} at version {version}:"
                                     " differs from its events")
        if not followed.pending:
            self.followed.pop(stream)

    def _agrees(self, followed: _Followed, snapshot: Any) -> bool:
        """The snapshot against the aggregate replayed to its version, compared now: the
        aggregate goes on changing, in place too."""
        aggregate = followed.aggregate
        cls = type(aggregate)
        state = (getattr(cls, "Snapshot", None) or self.app.snapshot_class
                 or Snapshot).take(aggregate).state
        erased = followed.erased or is_erased(snapshot)
        personal = PERSONAL_STATE.get(cls.__name__, {}) if erased else {}
        return states_agree(self.app, cls, state, snapshot.state, personal)

    def _versions(self, keys: list[Any]) -> dict[UUID, list[int]]:
        """The snapshot versions of these streams, in order, for those that have any."""
        database, table = self.store  # type: ignore[misc]
        rows = database.run(
            f"SELECT originator_id, originator_version FROM {table} WHERE"  # noqa: S608
            " originator_id IN (" + ", ".join(["%s"] * len(keys)) + ")"
            " ORDER BY originator_id, originator_version", keys,
        )
        found: dict[UUID, list[int]] = {}
        for row in rows:
            found.setdefault(UUID(str(row["originator_id"])), []).append(
                int(row["originator_version"]))
        return found

    def _stored(self, due: list[tuple[Any, int]]) -> dict[tuple[UUID, int], Any]:
        """These snapshots (stream key, version), read in one query and decoded."""
        database, table = self.store  # type: ignore[misc]
        rows = database.run(
            f"SELECT originator_id, originator_version, topic, state FROM {table}"  # noqa: S608
            " WHERE (originator_id, originator_version) IN ("
            + ", ".join(["(%s, %s)"] * len(due)) + ")",
            [value for pair in due for value in pair],
        )
        return {(snapshot.originator_id, snapshot.originator_version): snapshot
                for snapshot in self.app.snapshots.mapper.to_domain_events(  # type: ignore[union-attr]
                    stored_events(rows))}
