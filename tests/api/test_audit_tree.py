"""Signed checkpoints, inclusion and consistency proofs over HTTP, and `flask --app app audit
checkpoint`, on SQLite and PostgreSQL (CONTRACT.md, "Audit", signed checkpoints). Roots are
recomputed here from the feed's `hash` values with the RFC's definition, not read back."""

from __future__ import annotations

import base64
import random
import re

import pytest

from adapters.checkpoints import open_checkpoint
from domain import merkle
from tests.helpers import FEED, bearer, feed_item, settle, story
from tests.unit.test_merkle import mth

NOTE = re.compile(
    r"^(?P<origin>[^\n]+)\n(?P<size>[0-9]+)\n(?P<root>[A-Za-z0-9+/]{43}=)\n\n"
    r"— (?P<name>[^ \n]+) (?P<stamp>[A-Za-z0-9+/]{91}=)\n$"
)


@pytest.fixture
def auditor(services) -> dict[str, str]:
    return bearer(services.staff_tokens.create("audra", "auditor"))


@pytest.fixture
def logged(client, services, clock, auditor) -> dict:
    """A member's story and a few reimbursements: the member's identifier, and the feed's
    events in order."""
    s = story(client, services, clock)
    claims = bearer(services.staff_tokens.create("flux-sante", "claims"))
    for number in range(3):
        item = feed_item(reimbursement_id=f"R-2026-{number:04d}")
        assert client.post(FEED, json=item, headers=claims).status_code == 202
    settle(services)
    feed = client.get("/api/v1/audit/events?after=0&limit=1000", headers=auditor).json
    assert len(feed["events"]) >= 20
    return {"identifier": s["identifier"], "events": feed["events"]}


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def entries_of(logged: dict) -> list[bytes]:
    return [unb64(event["hash"]) for event in logged["events"]]


def positions_of(logged: dict) -> list[int]:
    return [event["position"] for event in logged["events"]]


def test_each_event_carries_its_stored_hash_in_the_feed_and_the_history(
    client, services, auditor, logged
):
    identifier = logged["identifier"]
    by_position = {e["position"]: e["hash"] for e in logged["events"]}
    stored = {
        n.id: services.lifecycle.mapper.to_domain_event(n)._hash
        for n in services.lifecycle.recorder.select_notifications(start=1, limit=1000)
    }
    assert {p: unb64(h).hex() for p, h in by_position.items()} == stored
    history = client.get(f"/api/v1/audit/accounts/{identifier}/events", headers=auditor).json
    assert history["events"]
    for event in history["events"]:
        assert event["hash"] == by_position[event["position"]]


def test_the_checkpoint_is_a_signed_note_over_the_whole_log(client, auditor, logged):
    entries = entries_of(logged)
    answer = client.get("/api/v1/audit/checkpoint", headers=auditor)
    key = client.get("/api/v1/audit/public-key", headers=auditor)

    assert answer.status_code == 200 and key.status_code == 200
    body, origin = answer.json, key.json["origin"]
    assert body["size"] == len(entries)
    assert unb64(body["root_hash"]) == mth(entries)
    note = NOTE.match(body["checkpoint"])
    assert note, body["checkpoint"]
    assert note["origin"] == note["name"] == origin
    assert (int(note["size"]), note["root"]) == (body["size"], body["root_hash"])
    public_key = unb64(key.json["public_key"])
    assert len(public_key) == 32
    opened = open_checkpoint(body["checkpoint"], origin, public_key)
    assert (opened.size, opened.root) == (len(entries), mth(entries))


def test_every_inclusion_proof_verifies_against_the_root_of_its_size(client, auditor, logged):
    entries = entries_of(logged)
    positions = positions_of(logged)
    draw = random.Random(1909)
    for index in [0, len(entries) - 1, *draw.sample(range(len(entries)), 8)]:
        size = draw.randint(index + 1, len(entries))
        answer = client.get(
            f"/api/v1/audit/events/{positions[index]}/inclusion", query_string={"size": size},
            headers=auditor,
        )
        assert answer.status_code == 200, answer.json
        body = answer.json
        assert (body["position"], body["leaf_index"], body["size"]) == (
            positions[index], index, size
        )
        assert merkle.verify_inclusion(
            merkle.leaf_hash(entries[index]), index, size,
            [unb64(h) for h in body["hashes"]], mth(entries[:size]),
        )


def test_every_consistency_proof_verifies_between_the_roots_of_its_sizes(
    client, auditor, logged
):
    entries = entries_of(logged)
    draw = random.Random(9162)
    pairs = [(1, len(entries)), (len(entries), len(entries))]
    pairs += [tuple(sorted(draw.sample(range(1, len(entries) + 1), 2))) for _ in range(8)]
    for first, second in pairs:
        answer = client.get(
            "/api/v1/audit/consistency", query_string={"from": first, "to": second},
            headers=auditor,
        )
        assert answer.status_code == 200, answer.json
        assert (answer.json["from"], answer.json["to"]) == (first, second)
        assert merkle.verify_consistency(
            first, second, mth(entries[:first]), mth(entries[:second]),
            [unb64(h) for h in answer.json["hashes"]],
        )


@pytest.mark.parametrize(("query", "field"), [
    ({"size": "0"}, "size"), ({"size": "1000000"}, "size"), ({}, "size"),
    ({"size": "deux"}, "size"),
])
def test_an_inclusion_proof_of_a_size_outside_the_log_is_a_validation_error(
    client, auditor, logged, query, field
):
    position = positions_of(logged)[0]
    answer = client.get(
        f"/api/v1/audit/events/{position}/inclusion", query_string=query, headers=auditor
    )
    assert answer.status_code == 422 and answer.json["code"] == "validation_error"
    assert list(answer.json["errors"]) == [field]


def test_an_event_after_the_size_asked_is_not_in_that_tree(client, auditor, logged):
    last = positions_of(logged)[-1]
    answer = client.get(
        f"/api/v1/audit/events/{last}/inclusion", query_string={"size": 1}, headers=auditor
    )
    assert answer.status_code == 422 and "size" in answer.json["errors"]


@pytest.mark.parametrize("position", ["999999", "abc", "-1", "1e3", "99999999999999999999999"])
def test_an_unknown_position_is_not_found(client, auditor, logged, position):
    answer = client.get(
        f"/api/v1/audit/events/{position}/inclusion", query_string={"size": 1}, headers=auditor
    )
    assert answer.status_code == 404 and answer.json["code"] == "not_found"


@pytest.mark.parametrize(("query", "field"), [
    ({"from": "3", "to": "2"}, "from"), ({"from": "0", "to": "2"}, "from"),
    ({"from": "1", "to": "1000000"}, "to"), ({"to": "2"}, "from"), ({"from": "1"}, "to"),
])
def test_a_consistency_proof_between_sizes_that_name_none_is_a_validation_error(
    client, auditor, logged, query, field
):
    answer = client.get("/api/v1/audit/consistency", query_string=query, headers=auditor)
    assert answer.status_code == 422 and answer.json["code"] == "validation_error"
    assert field in answer.json["errors"], answer.json


def test_the_command_prints_the_signed_checkpoint_alone_and_publishes_it(
    app, client, services, auditor, logged
):
    entries = entries_of(logged)
    result = app.test_cli_runner().invoke(args=["audit", "checkpoint"])

    assert result.exit_code == 0, result.output
    served = client.get("/api/v1/audit/checkpoint", headers=auditor).json
    assert result.stdout == served["checkpoint"]
    # Kept, so the service can later prove any newer checkpoint consistent with this one.
    assert [p.note for p in services.audit_proofs.published()] == [result.stdout]
    again = app.test_cli_runner().invoke(args=["audit", "checkpoint"])
    assert again.stdout == result.stdout and len(services.audit_proofs.published()) == 1
    key = client.get("/api/v1/audit/public-key", headers=auditor).json
    opened = open_checkpoint(result.stdout, key["origin"], unb64(key["public_key"]))
    assert (opened.size, opened.root) == (len(entries), mth(entries))
