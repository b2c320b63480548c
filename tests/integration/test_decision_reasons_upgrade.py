"""Decisions stored before reasons (domain/decision_reasons.py) still load, with no reason:
an identity decision of version 1, a request decision of version 2 (with its reply) or of
version 1 (before replies too), through the upcasters; the queue rebuilt from them and the
auditor's words say "non précisé". On SQLite and PostgreSQL, as test_event_evolution.py."""

from __future__ import annotations

import json
from uuid import uuid4

import pytest

from adapters.audit_words import in_words
from domain.personal_data import ERASED
from domain.support_request import SupportRequest
from projections.runner import catch_up
from projections.support_queue import SupportQueue, item_id
from tests.helpers import enrollment, settle
from tests.integration.test_event_evolution import old_request, replayed

QUEUE = "support_queue"
# What each decision event gained, by the version it had before reasons and before that.
ADDED = {
    "IdentityApproved": {2: ("reason",)},
    "IdentityRejected": {2: ("reason",)},
    "SupportRequestAccepted": {3: ("reason",), 2: ("reply", "email_requester")},
    "SupportRequestRejected": {3: ("reason",), 2: ("reply", "email_requester")},
}


def stored_as_version(services, name: str, version: int) -> None:
    """Every stored `name` event rewritten as the release that wrote `version` stored it:
    without what later versions added (the chain's hashes tell; not verified here)."""
    table = services.lifecycle.recorder.events_table_name
    for row in services.database.run(f"SELECT topic, state FROM {table}"):
        if row["topic"].rpartition(".")[2] != name:
            continue
        state = json.loads(bytes(row["state"]))
        for added_in, fields in ADDED[name].items():
            if added_in > version:
                for field in fields:
                    state.pop(field)
        if version == 1:
            state.pop("class_version")
        else:
            state["class_version"] = version
        services.database.run(
            f"UPDATE {table} SET state = %s WHERE topic = %s AND state = %s",
            (json.dumps(state).encode(), row["topic"], row["state"]),
        )


def the_event(services, aggregate_id, name: str):
    # The mail worker may have recorded an e-mail's outcome after it.
    [found] = [e for e in services.lifecycle.events.get(aggregate_id)
               if type(e).__name__ == name]
    return found


def rebuilt_queue(services) -> None:
    services.projections.stop()
    services.support_queue.clear(QUEUE)
    projection = SupportQueue(services.support_queue)
    while catch_up(services.lifecycle, projection):
        pass


@pytest.mark.parametrize(("accept", "version"), [
    (True, 2), (False, 2), (True, 1), (False, 1),
])
def test_a_request_decision_stored_before_reasons_loads_without_one(services, accept, version):
    request = old_request(services)
    if accept:
        request.accept("alice", "réglé par téléphone", None, services.clock(), reply="Voilà.")
    else:
        request.reject("alice", "réglé par téléphone", services.clock(), reply="Voilà.")
    services.lifecycle.save(request)
    settle(services)
    name = "SupportRequestAccepted" if accept else "SupportRequestRejected"
    stored_as_version(services, name, version)

    decided = the_event(services, request.id, name)
    assert decided.reason is None
    assert (decided.agent, decided.note) == ("alice", "réglé par téléphone")
    assert decided.reply == ("Voilà." if version == 2 else None)
    loaded = replayed(services, request.id)
    assert loaded.reason is None and loaded.status == ("accepted" if accept else "rejected")
    assert ("Motif", "non précisé") in in_words(name, vars(decided))

    rebuilt_queue(services)
    row = services.support_queue.get_item(item_id("other", str(request.id)))
    assert row["status"] == "closed" and row["reason"] is None
    assert json.loads(row["decision"])["note"] == "réglé par téléphone"


def test_an_identity_decision_stored_before_reasons_loads_and_reads_erased_without_one(
    services
):
    reviewed = enrollment()
    reviewed.flag_identity_mismatch({"last_name": "Dupont", "first_name": "Maria"},
                                    services.clock())
    reviewed.reject("alice", "homonyme", services.clock(), reason="not_the_member")
    services.lifecycle.save(reviewed)
    settle(services)
    stored_as_version(services, "IdentityRejected", 1)

    rejected = the_event(services, reviewed.id, "IdentityRejected")
    assert (rejected.reason, rejected.note) == (None, "homonyme")
    assert replayed(services, reviewed.id).decision_reason is None

    services.lifecycle.mapper.keys.destroy(reviewed.member_key)  # as an erasure does
    erased = the_event(services, reviewed.id, "IdentityRejected")
    assert (erased.reason, erased.note) == (None, ERASED)
    assert dict(in_words("IdentityRejected", vars(erased))) == {
        "Agent": "alice", "Motif": "non précisé", "Note": ERASED,
    }


def test_a_decision_of_today_keeps_its_reason_in_clear_once_the_note_is_erased(services):
    subject = uuid4()
    request = SupportRequest(
        kind="other", last_name="Martin", first_name="Louise", message="Bonjour",
        member_number=None, birth_date=None, identifier=None, email="louise@example.org",
        new_email=None, account_id=None, member_key=subject, actor="system:support-request",
        timestamp=services.clock(),
    )
    request.reject("alice", "il écrit : « je suis Louise »", services.clock(),
                   reason="identity_not_proven")
    services.lifecycle.save(request)
    settle(services)
    services.lifecycle.mapper.keys.destroy(subject)
    rejected = the_event(services, request.id, "SupportRequestRejected")
    assert (rejected.reason, rejected.note) == ("identity_not_proven", ERASED)
