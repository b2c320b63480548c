"""The auditors' Merkle tree as a read model (projections/audit_tree.py), on SQLite and
PostgreSQL: leaf i is the i-th event of the log, each append writes only the subtrees it
completes, and a database that had no tree gets one built from its whole log at start-up."""

from __future__ import annotations

import random

from bootstrap import bootstrap
from domain import merkle
from tests.helpers import FEED, bearer, feed_item, settle, story
from tests.unit.test_merkle import mth, path, subproof


def a_log(client, services, clock) -> None:
    story(client, services, clock)
    claims = bearer(services.staff_tokens.create("flux-sante", "claims"))
    for number in range(3):
        item = feed_item(reimbursement_id=f"R-2026-{number:04d}")
        assert client.post(FEED, json=item, headers=claims).status_code == 202
    settle(services)


def stored_hashes(services) -> list[tuple[int, bytes]]:
    """(position, stored hash) of every event, in log order, as the store holds them."""
    recorder, start, found = services.lifecycle.recorder, 1, []
    while notifications := recorder.select_notifications(start=start, limit=500):
        for notification in notifications:
            event = services.lifecycle.mapper.to_domain_event(notification)
            found.append((notification.id, bytes.fromhex(event._hash)))
        start = notifications[-1].id + 1
    return found


def test_every_event_is_a_leaf_in_log_order_and_only_complete_subtrees_are_stored(
    client, services, clock
):
    a_log(client, services, clock)
    log = stored_hashes(services)
    tree = services.audit_tree

    assert tree.size() == len(log) >= 20
    rows = tree.all_rows()
    assert [(r["leaf_index"], r["position"]) for r in rows["audit_tree_leaves"]] == [
        (index, position) for index, (position, _) in enumerate(log)
    ]
    expected = merkle.tree_store([merkle.leaf_hash(entry) for _, entry in log])
    stored = {(r["level"], r["node_index"]): r["hash"] for r in rows["audit_tree_nodes"]}
    assert stored == {subtree: digest.hex() for subtree, digest in expected.items()}
    assert len(stored) == 2 * len(log) - bin(len(log)).count("1")  # each subtree once


def test_roots_and_proofs_read_from_the_stored_subtrees_are_the_rfcs(client, services, clock):
    a_log(client, services, clock)
    entries = [entry for _, entry in stored_hashes(services)]
    tree, n = services.audit_tree, len(entries)
    draw = random.Random(19)

    for size in {1, 2, n - 1, n, *(draw.randint(1, n) for _ in range(8))}:
        assert tree.hashes(merkle.root_ranges(size)) == [mth(entries[:size])]
        index = draw.randrange(size)
        assert tree.hashes(merkle.inclusion_ranges(index, size)) == path(index, entries[:size])
        first = draw.randint(1, size)
        assert tree.hashes(merkle.consistency_ranges(first, size)) == subproof(
            first, entries[:size], True
        )


def test_appending_after_a_restart_carries_on_from_the_stored_tree(
    client, services, clock, settings
):
    from app import create_app

    a_log(client, services, clock)
    before = services.audit_tree.size()
    services.close()

    again = create_app(settings, clock=clock)
    s = again.extensions["accounts"]
    try:
        claims = bearer(s.staff_tokens.create("flux-sante-2", "claims"))
        item = feed_item(reimbursement_id="R-2026-0100")
        assert again.test_client().post(FEED, json=item, headers=claims).status_code == 202
        # The restarted app's own checks run in the background and may record events (a
        # lost message re-sent) at any moment: the log is compared up to one position the
        # tree is known to have reached, never "up to now".
        last = s.lifecycle.recorder.max_notification_id()
        s.audit_tree.wait("audit_tree", last, timeout=10)
        entries = [entry for position, entry in stored_hashes(s) if position <= last]
        assert len(entries) > before
        assert s.audit_tree.leaf_index(last) == len(entries) - 1
        assert s.audit_tree.hashes(merkle.root_ranges(len(entries))) == [mth(entries)]
    finally:
        s.close()


def test_a_database_without_the_tree_gets_it_built_from_its_whole_log(
    client, services, clock, settings
):
    a_log(client, services, clock)
    services.projections.stop()
    for table in ("audit_tree_leaves", "audit_tree_nodes"):
        services.database.run(f"DROP TABLE {table}")
    services.database.run("DELETE FROM read_model_versions WHERE name = 'audit_tree'")
    table = getattr(services.audit_tree.tracking, "tracking_table_name", "tracking")
    services.database.run(
        f"DELETE FROM {table} WHERE application_name = 'audit_tree'"
    )
    services.close()

    upgraded = bootstrap(settings, clock)
    try:
        upgraded.projections.run_until_idle()
        entries = [entry for _, entry in stored_hashes(upgraded)]
        assert upgraded.read_models.versions()["audit_tree"] == (1, None)
        assert upgraded.audit_tree.size() == len(entries)
        assert upgraded.audit_tree.hashes(merkle.root_ranges(len(entries))) == [mth(entries)]
    finally:
        upgraded.close()


def test_a_new_version_built_beside_the_live_tree_is_the_same_tree(client, services, clock):
    from projections.audit_tree import AuditTree
    from projections.runner import catch_up

    a_log(client, services, clock)
    beside = services.audit_tree.beside(2)
    beside.create_tables()
    projection = AuditTree(beside)
    projection.name = "audit_tree_v2"

    while catch_up(services.lifecycle, projection, batch=7):  # appends across many batches
        pass

    live = services.audit_tree.all_rows()
    for table in ("audit_tree_leaves", "audit_tree_nodes"):
        order = "leaf_index" if table.endswith("leaves") else "level, node_index"
        built = services.database.run(f"SELECT * FROM {table}_v2 ORDER BY {order}")
        assert built == live[table], table
    assert beside.size(named=True) == services.audit_tree.size()


# The full `audit verify` checks the tree as it walks the log (adapters/audit_walk.py): each
# stored row the events give, each one named when it is not.


def verify(app):
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    return result, [line for line in result.stderr.splitlines() if line.startswith("PROBLEM ")]


def test_the_full_verify_names_a_changed_and_a_removed_subtree(
    app, client, services, clock
):
    a_log(client, services, clock)
    services.projections.stop()
    assert verify(app)[0].exit_code == 0
    size, database = services.audit_tree.size(), services.database
    assert size >= 8
    database.run("UPDATE audit_tree_nodes SET hash = %s WHERE level = 1 AND node_index = 0",
                 ("00" * 32,))
    database.run("DELETE FROM audit_tree_nodes WHERE level = 2 AND node_index = 1")
    result, problems = verify(app)

    assert result.exit_code == 1
    assert problems == [
        "PROBLEM audit tree node at level 1, index 0: differs from what the events give",
        "PROBLEM audit tree node at level 2, index 1: differs from what the events give",
    ], problems


def test_the_full_verify_names_a_leaf_that_points_at_another_event(
    app, client, services, clock
):
    a_log(client, services, clock)
    services.projections.stop()
    log = stored_hashes(services)
    (first, _), (second, _) = log[2], log[3]
    database = services.database
    database.run("UPDATE audit_tree_leaves SET position = -1 WHERE leaf_index = 2")
    database.run("UPDATE audit_tree_leaves SET position = %s WHERE leaf_index = 3", (first,))
    database.run("UPDATE audit_tree_leaves SET position = %s WHERE leaf_index = 2", (second,))

    result, problems = verify(app)

    assert result.exit_code == 1
    assert any(f"position {first} (" in p and "is not the event the audit tree recorded" in p
               for p in problems), problems
    assert any(f"position {second} (" in p and "is not the event the audit tree recorded" in p
               for p in problems), problems
