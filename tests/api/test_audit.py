"""The auditors' API and `audit verify`, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from tests.helpers import (
    ANSWER,
    FEED,
    HELENE,
    OWN,
    bearer,
    drain,
    feed_item,
    open_account,
    register,
    settle,
    story,
)


@pytest.fixture
def auditor(services) -> dict[str, str]:
    return bearer(services.staff_tokens.create("audra", "auditor"))


def test_the_history_tells_the_whole_story_in_order(client, services, clock, auditor):
    s = story(client, services, clock)
    response = client.get(f"/api/v1/audit/accounts/{s['identifier']}/events", headers=auditor)
    assert response.status_code == 200
    events = response.json["events"]
    types = [e["type"] for e in events]
    for expected in ("RegistrationRequested", "IdentityMismatchFlagged", "IdentityApproved",
                     "AccountOpened", "TempPasswordIssued", "SignedIn", "PasswordChanged",
                     "EmailChangeRequested", "EmailChanged"):
        assert expected in types, expected
    positions = [e["position"] for e in events]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    approved = next(e for e in events if e["type"] == "IdentityApproved")
    assert approved["actor"] == "support:alice" and approved["data"]["note"] == "vu au téléphone"
    assert next(e for e in events if e["type"] == "PasswordChanged")["actor"] == (
        f"member:{s['identifier']}"
    )
    assert "MemberIndexed" not in types  # index aggregates are not the member's story


def test_no_secret_and_no_hash_reaches_the_audit_output(client, services, clock, auditor):
    s = story(client, services, clock)
    outputs = [
        client.get(f"/api/v1/audit/accounts/{s['identifier']}/events", headers=auditor).json,
        client.get("/api/v1/audit/events?after=0&limit=1000", headers=auditor).json,
        client.get(
            f"/api/v1/audit/accounts/{s['identifier']}/state",
            query_string={"at": clock.now.isoformat()}, headers=auditor,
        ).json,
    ]
    text = json.dumps(outputs, ensure_ascii=False)
    assert s["identifier"] in text  # the search finds what is there
    for secret in (s["temporary"], OWN, s["token"], s["code"], ANSWER, "$2b$"):
        assert secret not in text, secret


def test_the_state_at_an_instant_is_the_account_as_it_stood(client, services, clock, auditor):
    s = story(client, services, clock)
    url = f"/api/v1/audit/accounts/{s['identifier']}/state"
    before_change = client.get(url, query_string={"at": s["opened_at"]}, headers=auditor).json
    assert before_change["state"]["email"] == HELENE["email"]
    now = client.get(url, query_string={"at": clock.now.isoformat()}, headers=auditor).json
    assert now["state"]["email"] == "neuve@example.org"
    assert now["version"] > before_change["version"]
    too_early = (clock.now - timedelta(days=1)).isoformat()
    response = client.get(url, query_string={"at": too_early}, headers=auditor)
    assert response.status_code == 404 and response.json["code"] == "not_found"
    bad = client.get(url, query_string={"at": "hier"}, headers=auditor)
    assert bad.status_code == 422


def test_the_global_feed_pages_in_order_without_gaps(client, services, clock, auditor):
    story(client, services, clock)
    seen, after = [], 0
    while True:
        page = client.get(
            "/api/v1/audit/events", query_string={"after": after, "limit": 7}, headers=auditor
        ).json
        if not page["events"]:
            assert page["next_after"] == after
            break
        seen += [e["position"] for e in page["events"]]
        after = page["next_after"]
    stored = services.lifecycle.recorder.select_notifications(start=1, limit=100_000)
    assert seen == [n.id for n in stored]  # every stored event, once, in log order


@pytest.mark.parametrize("limit", [0, 1001, "x"])
def test_a_feed_limit_out_of_bounds_is_a_validation_error(client, auditor, limit):
    response = client.get("/api/v1/audit/events", query_string={"limit": limit}, headers=auditor)
    assert response.status_code == 422 and "limit" in response.json["errors"]


def test_only_auditors_read_the_audit_api(client, services):
    support = bearer(services.staff_tokens.create("alice", "support"))
    assert client.get("/api/v1/audit/events").status_code == 401
    assert client.get("/api/v1/audit/events", headers=support).status_code == 403


def test_audit_verify_agrees_then_names_a_tampered_read_model(app, client, services, clock):
    story(client, services, clock)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "everything agrees" in result.output
    with services.database.transaction() as cursor:
        cursor.execute("UPDATE support_queue_items SET summary = 'falsifié'")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "support_queue.support_queue_items" in result.stderr


# Who caused each event: `member:<identifier>`, `support:<name>`, `claims:<name>` or
# `system:<part>` (CONTRACT.md, "Audit"; v1.1 issue 15: the index events had none).
ACTOR = re.compile(r"^(member:\d{8}|support:[^:\s]+|claims:[^:\s]+|system:[a-z_-]+)$")


def test_every_event_of_a_whole_story_names_who_caused_it(client, services, clock, auditor):
    s = story(client, services, clock)
    support = bearer(services.staff_tokens.create("bruno", "support"))
    key = {"Idempotency-Key": "reg-zoe-1"}
    zoe = {"member_number": "M1000003", "last_name": "Dupré-Lefèvre", "first_name": "Zoé",
           "birth_date": "2009-02-17", "email": "zoe@example.org"}
    assert register(client, headers=key, **zoe).status_code == 201  # refused, with a key
    closure = client.post("/api/v1/me/closure", json={"password": OWN},
                          headers=bearer(s["token"]))
    assert closure.status_code == 202, closure.json
    accepted = client.post(
        f"/api/v1/support/requests/{closure.json['request_id']}/decision",
        json={"decision": "accept", "note": "demande du membre"}, headers=support,
    )
    assert accepted.status_code == 200, accepted.json
    drain(services)
    settle(services)
    events = client.get("/api/v1/audit/events?limit=1000", headers=auditor).json["events"]
    nameless = sorted({(e["type"], e["actor"]) for e in events
                       if not ACTOR.match(e["actor"] or "")})
    assert nameless == []
    assert {"MemberIndexed", "IdentifierReserved", "IdempotencyKeyUsed", "ReviewOpened",
            "AccountUnlinked", "EmailVerificationCodeIndexed"} <= {e["type"] for e in events}


# A member's reimbursements are part of their story: their own care and their beneficiaries',
# paid to them as principal member (CONTRACT.md, "Claims feed"), filed under their member key.


def paid(client, claims, **item: object) -> None:
    response = client.post(FEED, json=feed_item(**item), headers=claims)
    assert response.status_code == 202, response.json


@pytest.fixture
def reimbursed(client, services, auditor) -> dict[str, object]:
    """Hélène's own care paid before she had an account, then her account, then Zoé's care
    (a child on her contract) and Aminata's (another principal member): her history and the
    whole feed."""
    claims = bearer(services.staff_tokens.create("flux-sante", "claims"))
    paid(client, claims, reimbursement_id="R-avant", member_number=HELENE["member_number"])
    member = open_account(client, services)
    paid(client, claims, reimbursement_id="R-zoe")
    paid(client, claims, reimbursement_id="R-autre", member_number="M1000005",
         contract_id="SANTE-COL-042")
    drain(services)  # the alerts' outcomes
    settle(services)
    history = client.get(f"/api/v1/audit/accounts/{member.identifier}/events", headers=auditor)
    assert history.status_code == 200, history.json
    feed = client.get("/api/v1/audit/events?limit=1000", headers=auditor).json["events"]
    return {"member": member, "events": history.json["events"], "feed": feed}


def test_the_history_holds_the_members_reimbursements_and_no_one_elses(reimbursed):
    recorded = [e for e in reimbursed["events"] if e["type"] == "ReimbursementRecorded"]
    assert [e["data"]["reimbursement_id"] for e in recorded] == ["R-avant", "R-zoe"]
    assert [e["data"]["member_number"] for e in recorded] == [HELENE["member_number"], "M1000003"]
    assert {e["data"]["principal_member_number"] for e in recorded} == {HELENE["member_number"]}
    assert all(e["stream"].startswith("Reimbursement:") for e in recorded)
    # Each stream whole: the recording and its alert's outcome.
    streams = {e["stream"] for e in recorded}
    alerts = [e for e in reimbursed["events"]
              if e["stream"] in streams and e["type"] != "ReimbursementRecorded"]
    assert {e["type"] for e in alerts} <= {"ReimbursementAlertSent", "ReimbursementAlertSkipped"}
    assert len(alerts) == 2


def test_the_reimbursements_are_in_log_order_among_the_other_events(reimbursed):
    events = reimbursed["events"]
    streams = {e["stream"] for e in events}
    # The history is exactly the feed's events of her streams: same positions, same order.
    assert events == [e for e in reimbursed["feed"] if e["stream"] in streams]
    types = [e["type"] for e in events]
    first, second = (i for i, t in enumerate(types) if t == "ReimbursementRecorded")
    assert first < types.index("RegistrationRequested") < types.index("AccountOpened") < second
    assert [e["position"] for e in events] == sorted({e["position"] for e in events})


def test_every_reimbursement_event_names_who_caused_it(reimbursed):
    streams = {e["stream"] for e in reimbursed["events"] if e["stream"].startswith("Reimb")}
    caused = {(e["type"], e["actor"]) for e in reimbursed["events"] if e["stream"] in streams}
    assert ("ReimbursementRecorded", "claims:flux-sante") in caused
    assert all(ACTOR.match(actor or "") for _, actor in caused), caused
    assert {actor for kind, actor in caused if kind != "ReimbursementRecorded"} == {
        "system:alerts"
    }


def test_the_history_with_reimbursements_holds_no_secret(reimbursed):
    text = json.dumps(reimbursed["events"], ensure_ascii=False)
    assert "R-zoe" in text and reimbursed["member"].identifier in text  # the search can fail
    for secret in (OWN, reimbursed["member"].headers["Authorization"].split()[1], "$2b$"):
        assert secret not in text, secret
