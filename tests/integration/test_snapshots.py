"""Accounts with long histories load from snapshots, to the same state, on both stores."""

from __future__ import annotations

from domain.application import SNAPSHOT_EVERY
from tests.api.test_recovery_and_email import open_account


def test_a_long_account_history_is_snapshotted_and_loads_to_the_same_state(client, services):
    member = open_account(client, services)
    for i in range(SNAPSHOT_EVERY + 20):
        response = client.put(
            "/api/v1/me/alerts", json={"reimbursements": i % 2 == 0}, headers=member.headers
        )
        assert response.status_code == 200
    lifecycle = services.lifecycle
    account = lifecycle.account_for_support(member.identifier)
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
    account = lifecycle.account_for_support(member.identifier)
    early = lifecycle.repository.get(account.id, version=3)
    assert early.version == 3 and early.identifier == member.identifier
