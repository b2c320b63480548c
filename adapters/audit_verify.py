"""`audit verify`: walk every stream's hash chain, then replay the whole history into fresh
read models and compare them, row by row, with the live ones."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory, Tracking
from eventsourcing.utils import Environment, get_topic

from adapters.database import Database

if TYPE_CHECKING:
    from bootstrap import Services
from adapters.event_store import event_hash, previous_hash
from domain.personal_data import PERSONAL_STATE, is_erased
from projections.audit import AuditIndex, AuditView
from projections.portal import Portal, PortalView
from projections.runner import catch_up, decoded
from projections.support_queue import SupportQueue, SupportQueueView

# Each read model: its name, its view class and its projection class.
READ_MODELS: list[tuple[str, type, type]] = [
    ("support_queue", SupportQueueView, SupportQueue),
    ("portal", PortalView, Portal),
    ("audit", AuditView, AuditIndex),
]


def verify_everything(
    s: Services, say: Callable[[str], None], run_by: str | None = None
) -> list[str]:
    """The chain, the snapshots, the read models; the problems found (none: all agrees). The
    last line said is the summary; the outcome is stored for the auditors' console."""
    started_at = s.clock()
    chain = verify_chain(s.lifecycle, s.audit, say=say)
    problems = chain.problems
    try:
        problems += verify_snapshots(s.lifecycle, chain, say=say)
    except Exception as error:  # a tampered event may not even decode: say so, do not crash
        problems.append(f"snapshot check failed: {type(error).__name__}: {error}")
    views = {"support_queue": s.support_queue, "portal": s.portal, "audit": s.audit}
    for rebuild in s.read_models.rebuilds:  # its live tables are an older version's
        del views[rebuild.name]
        problems.append(f"read model {rebuild.name}: version {rebuild.version} is being built;"
                        " `flask --app app db upgrade` finishes it")
    try:
        result = verify_read_models(s.lifecycle, views, say=say)
        problems += result.differences
        summary = (f"replayed up to position {result.head}; "
                   f"{sum(result.read_models.values())} rows compared")
    except Exception as error:  # as above
        problems.append(f"replay failed: {type(error).__name__}: {error}")
        summary = "replay failed"
    say(f"{chain.checked} events chained; {summary}; "
        + ("everything agrees" if not problems else f"{len(problems)} problem(s)"))
    record_run(s.database, VerificationRun(
        started_at, s.clock(), "ok" if not problems else "problems", chain.checked,
        len(problems), problems[:FIRST_PROBLEMS], run_by or f"cli:{_os_user()}",
    ))
    return problems


FIRST_PROBLEMS = 20  # kept for the console page; the command's output has them all


@dataclass(frozen=True)
class VerificationRun:
    """One run of `audit verify`, as the console shows the last one."""

    started_at: datetime
    finished_at: datetime
    outcome: str  # "ok" or "problems"
    events_checked: int
    problem_count: int
    problems: list[str]  # the first FIRST_PROBLEMS
    run_by: str  # "cli:<the operating system's user>"


def record_run(database: Database, run: VerificationRun) -> None:
    database.run(
        "INSERT INTO audit_verifications (started_at, finished_at, outcome, events_checked,"
        " problem_count, problems, run_by) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (run.started_at.isoformat(), run.finished_at.isoformat(), run.outcome,
         run.events_checked, run.problem_count, "\n".join(run.problems), run.run_by),
    )


def last_run(database: Database) -> VerificationRun | None:
    rows = database.run("SELECT * FROM audit_verifications ORDER BY id DESC LIMIT 1")
    if not rows:
        return None
    row = rows[0]
    return VerificationRun(
        datetime.fromisoformat(row["started_at"]), datetime.fromisoformat(row["finished_at"]),
        row["outcome"], int(row["events_checked"]), int(row["problem_count"]),
        row["problems"].splitlines(), row["run_by"],
    )


def _os_user() -> str:
    # Who ran the command, as far as the machine knows; a container may have no name for it.
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "inconnu"


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


@dataclass
class ChainReport:
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    versions: dict[UUID, int] = field(default_factory=dict)  # each stream's last version
    topics: dict[UUID, str] = field(default_factory=dict)  # each stream's first event's topic


def verify_chain(
    app: Application[Any], audit: AuditView, say: Callable[[str], None] = print,
    batch: int = 1000,
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
            report.problems.extend(_check_link(stored, report, hashes, recorded, indexed))
            report.checked += 1
        report.problems.extend(_deleted(recorded))
        start = notifications[-1].id + 1
    report.problems.extend(_deleted(audit.recorded_hashes(start, None)))
    say(f"hash chain: {report.checked} events in {len(report.versions)} streams checked")
    return report


def _check_link(
    stored: Any, report: ChainReport, hashes: dict[UUID, str],
    recorded: dict[int, dict[str, Any]], indexed: int,
) -> list[str]:
    stream, version = UUID(str(stored.originator_id)), stored.originator_version
    name = f"position {stored.id} ({_type(stored.topic)}, stream {stream} version {version})"
    problems = []
    digest = event_hash(stored)
    prior = report.versions.get(stream, 0)
    try:
        link = previous_hash(stored)
    except ValueError as error:
        problems.append(f"{name}: unreadable ({error})")
    else:
        if version != prior + 1:
            problems.append(f"{name}: follows version {prior} of its stream (events missing"
                            " or reordered)")
        elif link != hashes.get(stream):
            problems.append(f"{name}: does not carry its predecessor's hash (it or the one"
                            " before it was changed, or they were reordered)")
    row = recorded.pop(stored.id, None)
    if row is not None and row["hash"] != digest:
        problems.append(f"{name}: changed since it was written")
    elif row is None and stored.id <= indexed:
        problems.append(f"{name}: missing from the audit index")
    report.versions[stream], hashes[stream] = version, digest
    report.topics.setdefault(stream, stored.topic)
    return problems


def _type(topic: str) -> str:
    """`Account.SignedIn` from the topic; the audit index keeps the last part alone."""
    return topic.rsplit(":", 1)[-1].rsplit(".", 1)[-1]


def _deleted(rows: dict[int, dict[str, Any]]) -> list[str]:
    return [
        f"position {position} ({row['type']}, stream {row['stream_id']} version"
        f" {row['version']}): deleted from the event store"
        for position, row in sorted(rows.items())
    ]


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
