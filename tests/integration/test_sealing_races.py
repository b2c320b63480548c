"""A save that seals personal data with a member's key, racing the erasure that destroys that
key (adapters/recorders.py, NewKeys.keys_still_there), on SQLite and PostgreSQL.

Found by test_concurrency.py's raced closures, once in a few full runs: an agent's decision
on another request of the member read the key, the closure's erasure destroyed it, then the
decision committed after the erasure, sealed with a key nobody has. `audit verify` (a fresh
process) read its note as erased; the live support queue, whose process still had the key in
its cache for up to a minute, had written it in clear after the erasure had emptied the row.
Made to happen every time here by destroying the key between the read and the save."""

from __future__ import annotations

import json
from uuid import UUID

from adapters.event_store import SEALED_BY
from tests.helpers import bearer, member_with_own_password

NOTE = "Vu au téléphone avec la personne."


def sealed_by(value: object) -> set[str]:
    """The key ids of the sealed fields in a stored event's state."""
    if isinstance(value, dict):
        own = {value[SEALED_BY]} if SEALED_BY in value else set()
        return own.union(*(sealed_by(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(sealed_by(v) for v in value))
    return set()


def test_a_note_sealed_with_a_key_destroyed_before_its_save_commits_is_sealed_again(
    client, services, monkeypatch
):
    identifier, _ = member_with_own_password(client, services)
    asked = client.post("/api/v1/support-requests", json={
        "kind": "other", "last_name": "Dupré-Lefèvre", "first_name": "Hélène",
        "identifier": identifier, "message": "Je ne reçois plus les alertes.",
    })
    assert asked.status_code == 202, asked.json
    request_id = asked.json["request_id"]
    keys = services.lifecycle.mapper.keys
    read_then_destroyed = []
    real = keys.sealing_key

    def erased_meanwhile(subject, new_keys):
        found = real(subject, new_keys)
        if not read_then_destroyed:  # as an erasure in another process would, just then
            keys.destroy(subject)
            read_then_destroyed.append(found[0])
        return found

    monkeypatch.setattr(keys, "sealing_key", erased_meanwhile)
    staff = bearer(services.staff_tokens.create("alice", "support"))
    decided = client.post(f"/api/v1/support/requests/{request_id}/decision",
                          json={"decision": "reject", "note": NOTE}, headers=staff)

    assert decided.status_code == 200, decided.json
    assert decided.json["note"] == NOTE
    [decision] = [
        e for e in services.lifecycle.recorder.select_events(UUID(request_id))
        if e.topic.endswith("SupportRequestRejected")
    ]
    used = sealed_by(json.loads(decision.state))
    assert used and read_then_destroyed[0] not in used
    with services.database.transaction() as cursor:
        cursor.execute("SELECT key_id FROM personal_keys")
        existing = {row["key_id"] for row in cursor.fetchall()}
    assert used <= existing
