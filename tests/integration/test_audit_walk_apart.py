"""The full `audit verify` with its walk of the log in a process of its own
(adapters/audit_walk_apart.py), as it runs on a large log, on SQLite and PostgreSQL: it agrees
on an untouched store and names what the one-process run names (a changed event, a deleted
one, junk in place of one, a changed subtree of the tree), says so when the walk fails or its
process dies, and reports its progress up to the end. The store is changed with
test_tamper_evidence.py's helpers."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from dataclasses import replace
from multiprocessing.connection import Connection
from os import close, pipe

import psycopg
import pytest

from adapters import audit_verify
from adapters.audit_walk import WalkReport
from adapters.audit_walk_apart import WalkApart, start_walk
from adapters.settings import Database
from tests.integration.test_tamper_evidence import (
    assert_detected,
    assert_refused,
    delete,
    edit,
    problems,
    stored_rows,
    stream_of,
    told,
    verify,
    write_state,
)


@pytest.fixture
def apart(monkeypatch):
    """Every full run walks apart, however small its log; the walks started, counted."""
    started: list[int] = []

    def counted(settings, head, size):
        started.append(head)
        return start_walk(settings, head, size)

    monkeypatch.setattr(audit_verify, "APART_FROM", 0)
    monkeypatch.setattr(audit_verify, "start_walk", counted)
    return started


def test_an_untouched_store_agrees_with_the_walk_apart(app, client, services, clock, apart):
    told(client, services, clock)
    head = services.lifecycle.recorder.max_notification_id()

    result = verify(app)

    assert result.exit_code == 0, result.output
    assert apart == [head]
    assert problems(result) == []
    rows = stored_rows(services)  # PostgreSQL's positions may have gaps
    streams = len({row.stream for row in rows})
    assert (f"hash chain and tree: {len(rows)} events in {streams} streams and {len(rows)}"
            " leaves checked") in result.stdout
    assert result.stdout.strip().endswith("everything agrees"), result.stdout


def test_a_changed_event_is_named_by_the_walk_apart(app, client, services, clock, apart):
    told(client, services, clock)
    account = stream_of(stored_rows(services), "AccountOpened")
    middle = next(r for r in account if r.type == "SignedIn")
    after = account[middle.version]

    edit(services, middle, lambda state: state.update(actor="support:mallory"))
    result = verify(app)

    assert apart
    assert_detected(
        result,
        f"{middle.named()}: changed since it was written",
        f"{after.named()}: does not carry its predecessor's hash",
        stream=middle.stream,
    )


def test_a_deleted_event_is_named_by_the_walk_apart(app, client, services, clock, apart):
    told(client, services, clock)
    account = stream_of(stored_rows(services), "AccountOpened")
    middle = next(r for r in account if r.type == "SignedIn")

    delete(services, middle)
    result = verify(app)

    assert apart
    assert_refused(result, middle.named_deleted())


def test_junk_in_place_of_an_event_is_named_and_the_replay_says_it_stopped(
    app, client, services, clock, apart
):
    told(client, services, clock)
    account = stream_of(stored_rows(services), "AccountOpened")
    middle = next(r for r in account if r.type == "SignedIn")

    write_state(services, middle, b"\x00garbage")
    result = verify(app)

    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = assert_refused(result, f"{middle.named()}: ", "replay failed: ")
    assert any(line.startswith(f"PROBLEM {middle.named()}: unreadable") for line in lines)


def test_a_changed_subtree_is_named_by_the_walk_apart(app, client, services, clock, apart):
    told(client, services, clock)
    assert services.audit_tree.size() >= 4
    services.database.run(
        "UPDATE audit_tree_nodes SET hash = %s WHERE level = 1 AND node_index = 1", ("00" * 32,))

    result = verify(app)

    assert apart
    assert problems(result) == [
        "PROBLEM audit tree node at level 1, index 1: differs from what the events give"]


def test_the_run_reports_its_progress_as_the_slower_half_up_to_the_end(
    client, services, clock
):
    told(client, services, clock)
    head = services.lifecycle.recorder.max_notification_id()
    reports: list[tuple[str, int, int]] = []

    found = audit_verify.verify_everything(
        services, say=lambda _line: None, processes=2,
        progress=lambda *report: reports.append(report))

    assert found == []
    assert {task for task, _, _ in reports} == {"events"}
    done = [done for _, done, _ in reports]
    assert done == sorted(done) and reports[-1][1:] == (head, head), reports


def test_a_walk_that_cannot_read_the_log_is_a_problem_of_the_run(services, tmp_path):
    """A database without the event store: the walk creates nothing and fails."""
    settings = services.settings
    elsewhere = (replace(settings.database, dbname="postgres")
                 if settings.database.kind == "postgresql"
                 else Database("sqlite", tmp_path / "empty.sqlite3"))
    walking = start_walk(replace(settings, database=elsewhere), head=10, size=10)
    report = WalkReport(head_size=10)
    try:
        streams = walking.report(report)
    finally:
        walking.stop()

    assert streams == 0
    [problem] = report.problems
    assert problem.startswith("hash chain and tree: the walk failed: "), problem
    assert "does not exist" in problem or "no such table" in problem, problem
    if settings.database.kind == "postgresql":
        with psycopg.connect(host=elsewhere.host, port=elsewhere.port, user=elsewhere.user,
                             password=elsewhere.password, dbname="postgres") as connection:
            created = connection.execute(
                "SELECT tablename FROM pg_tables WHERE tablename LIKE 'accountlifecycle%'"
            ).fetchall()
    else:
        with sqlite3.connect(elsewhere.path) as connection:
            created = connection.execute("SELECT name FROM sqlite_master").fetchall()
        connection.close()
    assert created == []


def test_a_walk_whose_process_dies_is_a_problem_of_the_run():
    readable, writable = pipe()
    process = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"],
                               pass_fds=(writable,))
    close(writable)
    walking = WalkApart(process, Connection(readable, writable=False))
    report = WalkReport(head_size=10)

    assert walking.report(report) == 0
    walking.stop()
    assert report.problems == [
        "hash chain and tree: the walk's process ended without its report (exit code 3)"]


def test_an_interrupted_run_leaves_no_walk_behind(client, services, clock, monkeypatch):
    told(client, services, clock)
    walks: list[WalkApart] = []

    def started(settings, head, size):
        walks.append(start_walk(settings, head, size))
        return walks[-1]

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(audit_verify, "start_walk", started)
    monkeypatch.setattr(audit_verify, "replay", interrupted)
    with pytest.raises(KeyboardInterrupt):
        audit_verify.verify_everything(services, say=lambda _line: None, processes=2)

    [walk] = walks
    assert walk.process.returncode is not None  # ended (terminated, or done), and reaped
