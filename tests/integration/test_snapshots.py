"""Accounts with long histories load from snapshots, to the same state, on both stores."""

from __future__ import annotations

from eventsourcing.domain import Snapshot

from domain.lifecycle import SNAPSHOT_EVERY
from domain.personal_data import ERASED, PERSONAL_STATE
from tests.helpers import open_account


def test_a_long_account_history_is_snapshotted_and_loads_to_the_same_state(client, services):
    member = open_account(client, services)
    for i in range(SNAPSHOT_EVERY + 20):
        response = client.put(
            "/api/v1/me/alerts", json={"reimbursements": i % 2 == 0}, headers=member.headers
        )
        assert response.status_code == 200
    lifecycle = services.lifecycle
    cases = services.use_cases
    account = cases.support.account_for_support(member.identifier)
    assert account.version > SNAPSHOT_EVERY
    snapshots = list(lifecycle.snapshots.get(account.id))
    assert snapshots, "no snapshot was taken"
    # The snapshot path and a replay of every event agree, field by field.
    from_snapshot = lifecycle.repository.get(account.id)
    replayed = None
    for event in lifecycle.events.get(account.id):
        replayed = event.mutate(replayed)
    assert vars(from_snapshot) == vars(replayed)
    assert from_snapshot.is_open and from_snapshot.credentials_requests[0].sent


def test_an_older_version_loads_across_a_snapshot(client, services):
    member = open_account(client, services)
    for i in range(SNAPSHOT_EVERY + 5):
        client.put("/api/v1/me/alerts", json={"reimbursements": i % 2 == 0},
                   headers=member.headers)
    lifecycle = services.lifecycle
    cases = services.use_cases
    account = cases.support.account_for_support(member.identifier)
    early = lifecycle.repository.get(account.id, version=3)
    assert early.version == 3 and early.identifier == member.identifier


def test_a_snapshot_of_a_copy_loaded_before_an_erasure_holds_nothing_of_the_member(
    client, services
):
    """The erasure destroys the member's key while another request still holds a copy of the
    account, loaded before: a snapshot of that copy is stored as an erased account reads, and
    no new key is made for the member (with one, the data would outlive the erasure)."""
    member = open_account(client, services)
    lifecycle = services.lifecycle
    cases = services.use_cases
    stale = cases.support.account_for_support(member.identifier)
    email = stale.email
    assert email != ERASED

    cases.closure.subjects.destroy(stale.member_key)
    lifecycle.snapshots.put([Snapshot.take(stale)])

    [stored] = lifecycle.snapshots.recorder.select_events(stale.id, desc=True, limit=1)
    assert email.encode() not in stored.state
    assert services.database.run(
        "SELECT key_id FROM personal_keys WHERE subject = %s", (str(stale.member_key),)
    ) == []
    [snapshot] = lifecycle.snapshots.get(stale.id, desc=True, limit=1)
    assert snapshot.state["email"] == ERASED


def test_an_erased_account_holds_no_personal_data_in_memory(client, services):
    """Applying PersonalDataErased leaves the aggregate as a reload reads it: a copy kept in
    a process shows or snapshots nothing of the member."""
    member = open_account(client, services)
    cases = services.use_cases
    account = cases.support.account_for_support(member.identifier)
    account.close("alice", services.clock())
    account.erase_personal_data(services.clock())
    for field, erased in PERSONAL_STATE["Account"].items():
        assert getattr(account, field) == erased, field
