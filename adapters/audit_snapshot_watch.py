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

from adapters.audit_snapshots import check_streams, comparable, snapshot_store, stored_events
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
class _Expected:
    key: Any
    stream: UUID
    version: int
    cls: type  # the aggregate's
    erased: bool  # some event up to this version could not be opened
    whole: bytes  # the state the events give, every attribute, encoded as compared


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
        # Bound as each driver takes it: PostgreSQL's uuid column a UUID, SQLite's text.
        keys = keys if database.kind == "postgresql" else [str(key) for key in keys]
        starting = [key for key, event in zip(keys, events, strict=True)
                    if event.originator_version == 1]
        versions = self._versions(starting) if starting else {}
        due: list[_Expected] = []
        for key, event in zip(keys, events, strict=True):
            stream, version = event.originator_id, event.originator_version
            if version == 1 and stream in versions:
                self.followed[stream] = _Followed(key, versions[stream])
            followed = self.followed.get(stream)
            if followed is not None:
                self._step(stream, followed, event, due)
        while len(self.followed) > self.limit:
            stream = next(iter(self.followed))
            followed = self.followed.pop(stream)
            self.let_go.append((followed.key, followed.done))
        if due:
            self._compare(due)

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

    def _step(self, stream: UUID, followed: _Followed, event: Any, due: list[_Expected]) -> None:
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
            aggregate = followed.aggregate
            cls = type(aggregate)
            # Encoded now: the aggregate goes on changing, in place too.
            state = (getattr(cls, "Snapshot", None) or self.app.snapshot_class
                     or Snapshot).take(aggregate).state
            due.append(_Expected(followed.key, stream, version, cls, followed.erased,
                                 comparable(self.app, cls, state, {})))
            followed.done = version
        if not followed.pending:
            self.followed.pop(stream)

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

    def _compare(self, due: list[_Expected]) -> None:
        """The snapshots reached in a batch, read in one query, against what was expected."""
        database, table = self.store  # type: ignore[misc]
        keys = list({str(expected.stream): expected.key for expected in due}.values())
        rows = database.run(
            f"SELECT originator_id, originator_version, topic, state FROM {table}"  # noqa: S608
            " WHERE originator_id IN (" + ", ".join(["%s"] * len(keys)) + ")", keys,
        )
        wanted = {(expected.stream, expected.version) for expected in due}
        stored = [row for row in stored_events(rows)
                  if (UUID(str(row.originator_id)), row.originator_version) in wanted]
        snapshots = {(snapshot.originator_id, snapshot.originator_version): snapshot
                     for snapshot in self.app.snapshots.mapper.to_domain_events(stored)}  # type: ignore[union-attr]
        for expected in due:
            self.checked += 1
            snapshot = snapshots.get((expected.stream, expected.version))
            if snapshot is None:  # removed since the versions were listed
                continue
            wanted = expected.whole
            personal: dict[str, Any] = {}
            if expected.erased or is_erased(snapshot):  # rare: decoded again, then compared
                personal = PERSONAL_STATE.get(expected.cls.__name__, {})
                wanted = comparable(self.app, expected.cls,
                                    self.app.mapper.transcoder.decode(wanted), personal)
            if comparable(self.app, expected.cls, snapshot.state, personal) != wanted:
                self.problems.append(f"snapshot of stream {expected.stream} at version"
                                     f" {expected.version}: differs from its events")
