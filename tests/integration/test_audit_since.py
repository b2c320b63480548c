"""`flask audit verify --since FILE` (adapters/audit_since.py), on SQLite and PostgreSQL: an
auditor saved the checkpoint `audit checkpoint` printed, more events followed; the command
accepts the log when it extends the checkpoint and only checks what came after it, and
exits 1 naming what is wrong when an event after it was changed, removed, inserted or
reordered, or when the log was rewritten and re-chained from an event the checkpoint covers.
The raw rows are changed with test_tamper_evidence.py's helpers, and the full `audit verify`
must fail on each of them too.
"""

from __future__ import annotations

import re
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from adapters.checkpoints import CheckpointSigner
from projections.runner import catch_up
from tests.helpers import FEED, bearer, drain, feed_item
from tests.integration.test_tamper_evidence import (
    Row,
    assert_refused,
    delete,
    edit,
    events_table,
    problems,
    rechain,
    rowcount,
    stored_rows,
    stream_of,
    swap_positions,
    told,
    verify,
)

NOT_RECORDED = "is not the event the audit tree recorded at this position"
SUMMARY = re.compile(r"^(\d+) events after the checkpoint's (\d+) checked;.*; (.*)$")


@pytest.fixture
def saved(app, client, services, clock, tmp_path: Path) -> tuple[Path, int]:
    """The member's story, its checkpoint saved as `audit checkpoint` printed it, and its
    size; then more: alerts switched on the member's account (a stream older than the
    checkpoint) and new reimbursements (new streams)."""
    told(client, services, clock)
    path = tmp_path / "checkpoint"
    result = app.test_cli_runner().invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    path.write_text(result.stdout, encoding="utf-8")
    account = stream_of(stored_rows(services), "AccountOpened")[0].stream
    for n in range(4):
        services.use_cases.member_space.set_alerts(account, n % 2 == 0)
    claims = bearer(services.staff_tokens.create("flux-sante", "claims"))
    for number in range(3):
        item = feed_item(reimbursement_id=f"R-2026-{number:04d}")
        assert client.post(FEED, json=item, headers=claims).status_code == 202
    # The in-process worker records each alert's outcome after the answer: all of them before
    # the read models catch up, or the audit index may miss the last one while the tree,
    # caught up after it, has it (CI: a removed last event named by the tree alone).
    drain(services)
    for projection in services.read_models.projections:  # stopped by `audit checkpoint`
        while catch_up(services.lifecycle, projection):
            pass
    return path, int(result.stdout.splitlines()[1])


def since(app, path: Path):
    return app.test_cli_runner().invoke(args=["audit", "verify", "--since", str(path)])


def refused_by_both(app, path: Path, full: str, *incremental: str) -> None:
    """`audit verify --since` refuses the log naming each of `incremental`, and the full
    `audit verify` too, naming `full`."""
    assert_refused(since(app, path), *incremental)
    assert_refused(verify(app), full)


def new_rows(services, size: int) -> list[Row]:
    return stored_rows(services)[size:]


def new_alerts(services, size: int) -> list[Row]:
    """The account's events after the checkpoint: alert preferences, each chained to one."""
    return [r for r in new_rows(services, size) if r.type == "AlertsPreferenceChanged"]


def test_an_untouched_log_extends_the_checkpoint_and_only_the_new_events_are_checked(
    app, services, saved
):
    path, size = saved
    added = len(new_rows(services, size))
    assert added >= 7 and size > 15  # 4 alert changes, 3 reimbursements and their notices

    result = since(app, path)

    assert result.exit_code == 0, result.output
    assert problems(result) == []
    summary = SUMMARY.match(result.stdout.strip().splitlines()[-1])
    assert summary, result.stdout
    assert summary.groups() == (str(added), str(size), "everything agrees")
    run = services.database.run("SELECT * FROM audit_verifications ORDER BY id DESC LIMIT 1")
    assert (run[0]["outcome"], int(run[0]["events_checked"])) == ("ok", added)


def test_a_checkpoint_of_the_log_as_it_stands_leaves_nothing_to_check(app, services, saved):
    path, _ = saved
    now = app.test_cli_runner().invoke(args=["audit", "checkpoint"])
    path.write_text(now.stdout, encoding="utf-8")

    result = since(app, path)

    assert result.exit_code == 0, result.output
    summary = SUMMARY.match(result.stdout.strip().splitlines()[-1])
    assert summary and summary.groups() == (
        "0", str(len(stored_rows(services))), "everything agrees"), result.stdout


def test_a_note_not_signed_by_the_logs_key_is_refused(app, services, saved):
    path, size = saved
    signer = services.audit_proofs.signer
    [root] = services.audit_tree.hashes([(0, size)])
    forged = CheckpointSigner(bytes(32), signer.origin).sign(size, root)
    path.write_text(forged, encoding="utf-8")

    result = since(app, path)

    assert_refused(result, "PROBLEM checkpoint: no signature by this log's key")


def test_a_checkpoint_of_more_events_than_the_log_holds_is_refused(app, services, saved):
    path, size = saved
    [root] = services.audit_tree.hashes([(0, size)])
    path.write_text(services.audit_proofs.signer.sign(size + 100, root), encoding="utf-8")

    assert_refused(since(app, path), f"fewer than the checkpoint's {size + 100} events")


def test_changing_the_last_event_before_the_checkpoint_is_named_by_its_successor(
    app, services, saved
):
    # The first event after the checkpoint in an older stream is checked against the one
    # before it, read from the store: what the incremental run sees of the older events.
    path, size = saved
    first = new_alerts(services, size)[0]
    [before] = [r for r in stored_rows(services)
                if r.stream == first.stream and r.version == first.version - 1]
    assert before.position <= stored_rows(services)[size - 1].position  # the checkpoint's

    edit(services, before, lambda state: state.update({"actor": "support:mallory"}))

    refused_by_both(app, path, f"{before.named()}: changed since it was written",
                    f"{first.named()}: does not carry its predecessor's hash")


def test_changing_an_event_after_the_checkpoint_is_named(app, services, saved):
    path, size = saved
    account = new_alerts(services, size)
    changed, after = account[1], account[2]

    edit(services, changed, lambda state: state.update(
        {"reimbursements": not state["reimbursements"]}))

    refused_by_both(
        app, path, f"{changed.named()}: changed since it was written",
        f"{changed.named()}: changed since it was written",
        f"{changed.named()}: {NOT_RECORDED}",
        f"{after.named()}: does not carry its predecessor's hash",
    )


def test_removing_an_event_after_the_checkpoint_is_named(app, services, saved):
    path, size = saved
    account = new_alerts(services, size)
    removed, after = account[1], account[2]

    delete(services, removed)

    refused_by_both(
        app, path, removed.named_deleted(),
        removed.named_deleted(),
        f"{after.named()}: follows version {removed.version - 1} of its stream",
    )


def test_removing_the_logs_last_event_is_named(app, services, saved):
    path, _ = saved
    removed = stored_rows(services)[-1]

    delete(services, removed)

    refused_by_both(app, path, removed.named_deleted(), removed.named_deleted())


def test_inserting_an_event_after_the_checkpoint_is_named(app, services, saved):
    # The log's last event is moved one place on, and a forged reimbursement (a new stream of
    # its own, so no chain link to fake) takes its place. The moved event, still chained to
    # its stream, reads as one appended since: the forged one stands where the tree recorded
    # another.
    path, size = saved
    last = stored_rows(services)[-1]
    model = next(r for r in new_rows(services, size) if r.type == "ReimbursementRecorded")
    table, position = events_table(services)
    stream = uuid4()
    with services.database.transaction() as cursor:
        cursor.execute(f"UPDATE {table} SET {position} = %s WHERE {position} = %s",
                       (last.position + 1, last.position))
        assert rowcount(cursor) == 1
        cursor.execute(
            f"INSERT INTO {table} ({position}, originator_id, originator_version, topic, state)"
            " VALUES (%s, %s, 1, %s, %s)",
            (last.position, stream if isinstance(model.key, UUID) else str(stream),
             model.stored.topic, bytes(model.stored.state)),
        )
    inserted = next(r for r in stored_rows(services) if r.stream == stream)

    refused_by_both(
        app, path, f"{inserted.named()}: changed since it was written",
        f"{inserted.named()}: {NOT_RECORDED}",
        f"{inserted.named()}: changed since it was written",
    )


def test_reordering_two_events_after_the_checkpoint_is_named(app, services, saved):
    path, size = saved
    account = new_alerts(services, size)
    first, second = account[1], account[2]

    swap_positions(services, first, second)

    moved_up = Row(first.position, second.key, second.stored)
    moved_down = Row(second.position, first.key, first.stored)
    refused_by_both(
        app, path, f"{moved_up.named()}: follows version {first.version - 1}",
        f"{moved_up.named()}: follows version {first.version - 1} of its stream",
        f"{moved_up.named()}: {NOT_RECORDED}",
        f"{moved_down.named()}: {NOT_RECORDED}",
    )


def test_a_tail_rewritten_and_rechained_from_before_the_checkpoint_does_not_extend_it(
    app, services, saved
):
    # Whoever rewrites an event can recompute every later link and rebuild the tree from the
    # rewritten log: the chain and the tree then agree with the events, but today's root can
    # no longer extend the root the auditor kept.
    path, size = saved
    account = stream_of(stored_rows(services), "AccountOpened")
    middle = next(r for r in account if r.type == "SignedIn")
    last_covered = stored_rows(services)[size - 1].position
    assert middle.position <= last_covered < account[-1].position
    edit(services, middle, lambda state: state.update({"actor": "support:mallory"}))
    rechain(services, account[middle.version:])
    services.audit_tree.clear("audit_tree")  # rebuilt from the rewritten log by the command
    old_root = path.read_text(encoding="utf-8").splitlines()[2]  # base64, as printed

    result = since(app, path)

    assert_refused(
        result, f"PROBLEM checkpoint: today's log of {len(stored_rows(services))} events"
        f" does not extend the checkpoint's {size} events (root"
        f" {old_root})",
    )
    assert "predecessor" not in result.stderr  # the chain itself holds
    assert_refused(verify(app), f"{middle.named()}: changed since it was written")


def test_read_model_rows_of_the_new_events_are_rebuilt_and_compared(app, services, saved):
    # The audit index's row of a new event, and a subtree of the tree above the new leaves
    # only (its leaves still right): each is named by what it belongs to.
    path, size = saved
    changed = new_alerts(services, size)[0]
    services.database.run("UPDATE audit_events SET actor = %s WHERE position = %s",
                          ("support:mallory", changed.position))
    level, index = 1, (size + 1) // 2  # a pair of leaves, both after the checkpoint
    services.database.run("UPDATE audit_tree_nodes SET hash = %s WHERE level = %s"
                          " AND node_index = %s", ("00" * 32, level, index))

    assert_refused(
        since(app, path),
        f"PROBLEM audit.audit_events position {changed.position}: differs in ['actor']",
        f"PROBLEM audit tree node at level {level}, index {index}: differs from what the"
        " events give",
    )
