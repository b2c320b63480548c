"""The full `audit verify`'s snapshot check as it walks the log (adapters/audit_snapshot_watch.py),
on SQLite and PostgreSQL: the streams it lets go (too many followed at once) are checked at
the end by reading them again, each snapshot counted once, and a snapshot whose stream was
never seen from its first event sends every snapshot through that slower check."""

from __future__ import annotations

import json

from adapters import audit_snapshot_watch as snapshot_watch
from adapters.audit_snapshot_watch import SnapshotWatch
from tests.helpers import bearer
from tests.integration.test_tamper_evidence import (
    delete,
    snapshot_rows,
    stored_rows,
    stream_of,
    told,
    verify,
)


def snapshotted(client, services, clock):
    """The story, then the account snapshotted twice (versions 10 and 20 at least)."""
    s = told(client, services, clock)
    for n in range(25):
        assert client.put("/api/v1/me/alerts", json={"reimbursements": n % 2 == 0},
                          headers=bearer(s["token"])).status_code == 200
    account = stream_of(stored_rows(services), "AccountOpened")[0].stream
    taken = snapshot_rows(services, account)
    assert len(taken) >= 2
    return account, taken


def change_snapshot(services, stream, key, version: int) -> None:
    table = services.lifecycle.snapshots.recorder.events_table_name
    [state] = [state for _, at, state in snapshot_rows(services, stream) if at == version]
    changed = json.loads(state)
    changed["state"]["identifier"] = "99999999"
    services.database.run(
        f"UPDATE {table} SET state = %s WHERE originator_id = %s AND originator_version = %s",
        (json.dumps(changed).encode(), key, version),
    )


def watched(services, limit: int, batch: int = 5) -> SnapshotWatch:
    """The watch fed as the full run feeds it, in small batches."""
    app, watch = services.lifecycle, SnapshotWatch(services.lifecycle, limit=limit)
    start = 1
    while notifications := app.recorder.select_notifications(start=start, limit=batch):
        watch.see([n.originator_id for n in notifications],
                  app.mapper.to_domain_events(notifications))
        start = notifications[-1].id + 1
    watch.finish()
    return watch


def test_streams_let_go_are_checked_at_the_end_each_snapshot_once(client, services, clock):
    account, taken = snapshotted(client, services, clock)
    key, last, _ = taken[-1]
    change_snapshot(services, account, key, last)
    expected = [f"snapshot of stream {account} at version {last}: differs from its events"]

    for limit in (0, 1, 100):  # every stream let go after each batch, one followed, all
        watch = watched(services, limit)
        assert watch.problems == expected, (limit, watch.problems)
        assert watch.checked == len(taken), (limit, watch.checked)


def test_a_snapshot_whose_stream_lost_its_first_event_is_still_checked(
    app, client, services, clock
):
    account, _ = snapshotted(client, services, clock)
    opened = stream_of(stored_rows(services), "AccountOpened")[0]
    assert opened.stream == account and opened.version == 1
    delete(services, opened)

    result = verify(app)

    assert result.exit_code == 1
    # Never seen from its first event, the stream is read again for its snapshots, and
    # its events no longer make an account.
    assert "PROBLEM snapshot check failed" in result.stderr, result.stderr


def test_an_untouched_log_counts_every_snapshot_once_whatever_the_limit(
    client, services, clock
):
    _, taken = snapshotted(client, services, clock)
    for limit in (0, 1, 100):
        watch = watched(services, limit, batch=3)
        assert (watch.problems, watch.checked) == ([], len(taken)), limit


def test_a_snapshot_changed_in_a_values_type_alone_differs_from_its_events(
    client, services, clock
):
    """`alerts_reimbursements: 1` equals True in Python but is not what the events give:
    the check compares without encoding only to find agreement, never to excuse a change."""
    account, taken = snapshotted(client, services, clock)
    key, version, state = taken[0]
    table = services.lifecycle.snapshots.recorder.events_table_name
    changed = json.loads(state)
    alerts = changed["state"]["alerts_reimbursements"]
    assert isinstance(alerts, bool)
    changed["state"]["alerts_reimbursements"] = int(alerts)
    services.database.run(
        f"UPDATE {table} SET state = %s WHERE originator_id = %s AND originator_version = %s",
        (json.dumps(changed).encode(), key, version),
    )

    for limit in (0, 100):  # every stream let go (checked by reading it again), or followed
        watch = watched(services, limit)
        assert watch.problems == [
            f"snapshot of stream {account} at version {version}: differs from its events"
        ], limit
        assert watch.checked == len(taken), limit


def test_every_snapshot_is_checked_as_the_log_passes_it_none_read_again(
    client, services, clock, monkeypatch
):
    """On both stores the watch finds each snapshot as its version goes by (on SQLite it once
    bound the stream's id in a form the library's tables do not keep, found none, and read
    every stream again at the end)."""
    _, taken = snapshotted(client, services, clock)
    read_again: list[object] = []
    monkeypatch.setattr(snapshot_watch, "check_streams",
                        lambda *args, **kwargs: read_again.append(args) or ([], 0))

    watch = watched(services, limit=100)

    assert (watch.problems, watch.checked, read_again) == ([], len(taken), [])
