"""`audit verify`: one walk of the log checks every stream's hash chain and the audit tree's
every leaf and subtree (audit_walk.py), then the snapshots against their events
(audit_snapshots.py), then the whole history is replayed into fresh support queue, portal and
audit index tables and compared, row by row, with the live ones (audit_replay.py); with
`--since`, only what a saved checkpoint does not cover (audit_since.py). Each run's outcome is
stored for the auditors' console."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from adapters.audit_chain import ChainReport, verify_chain
from adapters.audit_replay import (
    READ_MODELS,
    Feed,
    Verification,
    compare,
    replay,
    verify_read_models,
)
from adapters.audit_since import verify_since
from adapters.audit_snapshot_watch import SnapshotWatch
from adapters.audit_snapshots import verify_snapshots
from adapters.audit_walk import WalkReport, walk
from adapters.audit_walk_apart import start_walk
from adapters.database import Database
from adapters.gc_tuning import batch_collection
from adapters.progress import Progress, no_progress
from projections.audit import AuditIndex
from projections.runner import catch_up

if TYPE_CHECKING:
    from bootstrap import Services

# What this module offered before it was split, still found here.
__all__ = [
    "FIRST_PROBLEMS", "READ_MODELS", "ChainReport", "Verification", "VerificationRun", "compare",
    "last_run", "record_run", "replay", "verify_chain", "verify_everything", "verify_read_models",
    "verify_since_checkpoint", "verify_snapshots",
]


def verify_everything(
    s: Services, say: Callable[[str], None], run_by: str | None = None,
    progress: Progress = no_progress, processes: int | None = None,
) -> list[str]:
    """The chain and the tree, the snapshots, the other read models; the problems found
    (none: all agrees). The last line said is the summary; the outcome is stored for the
    auditors' console. `processes`: 1 or 2 (the walk beside the replay); by default 2 for
    a log of APART_FROM events or more on a machine with two cores or more."""
    started_at = s.clock()
    views = {"support_queue": s.support_queue, "portal": s.portal, "audit": s.audit}
    problems, rebuilding = [], {rebuild.name for rebuild in s.read_models.rebuilds}
    for rebuild in s.read_models.rebuilds:  # its live tables are an older version's
        views.pop(rebuild.name, None)
        problems.append(f"read model {rebuild.name}: version {rebuild.version} is being built;"
                        " `flask --app app db upgrade` finishes it")
    if "audit_tree" in rebuilding:
        checked, found, summary = _apart(s, views, say, progress)
    else:
        checked, found, summary = _in_one_read(s, views, say, progress, processes)
    problems += found
    say(f"{checked} events chained; {summary}; "
        + ("everything agrees" if not problems else f"{len(problems)} problem(s)"))
    record_run(s.database, VerificationRun(
        started_at, s.clock(), "ok" if not problems else "problems", checked,
        len(problems), problems[:FIRST_PROBLEMS], run_by or f"cli:{_os_user()}",
    ))
    return problems


def _in_one_read(
    s: Services, views: dict[str, Any], say: Callable[[str], None], progress: Progress,
    processes: int | None,
) -> tuple[int, list[str], str]:
    """The log read once: each batch walked (chain, audit index hashes, the tree's leaves
    and subtrees: audit_walk.py), then decoded once for the fresh read models and the
    snapshot check (audit_snapshot_watch.py); for a large log on two cores or more, the walk
    runs beside the rest in a process of its own (audit_walk_apart.py). The run covers the
    log as the tree holds it once caught up: what is recorded meanwhile is the next run's.
    The events chained, the problems (chain and tree, snapshots, read models) and the
    summary of the replay."""
    behind = []
    try:
        s.audit_proofs.catch_up(s.lifecycle)
    except Exception as error:  # a tampered event may not decode: the walk names it
        behind.append(f"audit tree: not brought up to date: {type(error).__name__}: {error}")
    n = s.audit_tree.size()
    head = (s.audit_tree.position(n - 1) or 0) if n else 0
    try:
        while catch_up(s.lifecycle, AuditIndex(s.audit), stop=head):
            pass
    except Exception as error:  # as above
        behind.append(f"audit index: not brought up to date: {type(error).__name__}: {error}")
    report, watch = WalkReport(head_size=n, problems=behind), SnapshotWatch(s.lifecycle)
    if processes is None:
        processes = 2 if n >= APART_FROM and _cores() > 1 else 1
    with batch_collection():
        if processes > 1:
            fill, finished = _walked_apart(s, report, head, n, say, progress, watch)
        else:
            fill, finished = _walked_here(s, report, head, n, say, progress, watch)
        replayed, summary = _replayed(s, views, say, progress, head, fill)
    try:
        if not finished():  # the watch saw the events up to the batch that failed only
            snapshots = verify_snapshots(s.lifecycle, say=say)
        else:
            snapshots = watch.finish()
            say(f"snapshots: {watch.checked} checked against their events")
    except Exception as error:  # as above
        snapshots = [f"snapshot check failed: {type(error).__name__}: {error}"]
    return report.chain.checked, report.problems + snapshots + replayed, summary


# A log this large is walked in a process of its own: below, starting it (about a second)
# costs more than it saves.
APART_FROM = 20_000


def _cores() -> int:
    """The cores this process may run on (a container's share, where Linux says it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


Fill = Callable[[list[Any]], None]


def _walked_here(
    s: Services, report: WalkReport, head: int, n: int, say: Callable[[str], None],
    progress: Progress, watch: SnapshotWatch,
) -> tuple[Fill, Callable[[], bool]]:
    """The walk, handing each batch to the replay: the events decoded once for both."""
    failed: list[Exception] = []

    def fill(projections: list[Any]) -> None:
        feed = Feed(s.lifecycle, projections, also=watch.see)

        def each_batch(notifications: Any) -> list[Any] | None:
            if not failed:  # a tampered event may not even decode: the walk goes on
                try:
                    return feed(notifications)
                except Exception as error:
                    failed.append(error)
            return None

        walk(s, report, after=0, head=head, progress=progress, each_batch=each_batch)
        say(f"hash chain and tree: {report.chain.checked} events in"
            f" {len(report.chain.versions)} streams and {n} leaves checked")
        if failed:
            raise failed[0]

    return fill, lambda: not failed


def _walked_apart(
    s: Services, report: WalkReport, head: int, n: int, say: Callable[[str], None],
    progress: Progress, watch: SnapshotWatch,
) -> tuple[Fill, Callable[[], bool]]:
    """The walk in its own process; here, the same events decoded and replayed. The run's
    progress is the slower of the two."""
    replayed_to, done = [0], []

    def fill(projections: list[Any]) -> None:
        walking = start_walk(s.settings, head, n)

        def step(_task: str, position: int, _total: int) -> None:
            walking.poll()
            replayed_to[0] = position
            progress("events", min(position, walking.done), head)

        def walked() -> None:
            streams = walking.report(report, lambda at: progress(
                "events", min(replayed_to[0] if not done else head, at), head))
            say(f"hash chain and tree: {report.chain.checked} events in {streams}"
                f" streams and {n} leaves checked")

        try:
            try:
                replay(s.lifecycle, projections, stop=head, progress=step, also=watch.see)
            except Exception:  # a tampered event may not decode: the walk names it
                walked()
                raise
            done.append(True)
            walked()
        finally:  # an interrupted run leaves no walk behind
            walking.stop()

    return fill, lambda: bool(done)


def _apart(
    s: Services, views: dict[str, Any], say: Callable[[str], None], progress: Progress
) -> tuple[int, list[str], str]:
    """While the tree's new version is being built: the chain, the snapshots and the other
    read models, each in a read of its own."""
    chain = verify_chain(s.lifecycle, s.audit, say=say, progress=progress)
    problems = chain.problems
    try:
        problems += verify_snapshots(s.lifecycle, say=say, progress=progress)
    except Exception as error:  # a tampered event may not even decode: say so, do not crash
        problems.append(f"snapshot check failed: {type(error).__name__}: {error}")
    replayed, summary = _replayed(s, views, say, progress, None, None)
    return chain.checked, problems + replayed, summary


def _replayed(
    s: Services, views: dict[str, Any], say: Callable[[str], None], progress: Progress,
    head: int | None, fill: Any,
) -> tuple[list[str], str]:
    try:
        result = verify_read_models(s.lifecycle, views, say=say, progress=progress, head=head,
                                    fill=fill)
    except Exception as error:  # as above
        return [f"replay failed: {type(error).__name__}: {error}"], "replay failed"
    return result.differences, (f"replayed up to position {result.head}; "
                                f"{sum(result.read_models.values())} rows compared")


def verify_since_checkpoint(
    s: Services, note: str, say: Callable[[str], None], run_by: str | None = None
) -> list[str]:
    """`audit verify --since`: today's log extends the checkpoint in `note`, and what was
    added after it agrees (audit_since.py); stored like a full run, with the events after
    the checkpoint as those checked."""
    started_at = s.clock()
    report = verify_since(s, note, say)
    problems = report.problems
    say(f"{report.chain.checked} events after the checkpoint's {report.size} checked;"
        f" tree of {report.head_size} events; "
        + ("everything agrees" if not problems else f"{len(problems)} problem(s)"))
    record_run(s.database, VerificationRun(
        started_at, s.clock(), "ok" if not problems else "problems", report.chain.checked,
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
