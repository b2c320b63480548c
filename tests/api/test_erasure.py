"""Erasure of a closed account's member, on SQLite and PostgreSQL (CONTRACT.md, "Rules in
detail": "Closure" and "Audit").

Member A (M1000001, Hélène) lives the audit story (a registration held for identity review,
approved, own password, changed e-mail), sets a secret question, asks for closure from the portal
and support accepts it. Member B (M1000008, Éloïse) registers and stays active. After closure
A's names, e-mails, member number, birth date and secret question must be unreadable everywhere
(read models, audit output, raw event store) while the history keeps its types, instants and
actors, and B's data must be untouched.
"""

from __future__ import annotations

import json

import pytest

from domain.errors import InvalidTransitionError
from domain.personal_data import ERASED, PERSONAL_EVENTS
from projections.support_queue import ERASED as QUEUE_ERASED
from tests.helpers import (
    HELENE,
    OWN,
    bearer,
    credentials,
    database_text,
    drain,
    mails,
    register,
    settle,
    sign_in,
    story,
)

A_QUESTION = "Nom de jeune fille de ma grand-mère ?"
A_REGISTRATION_QUESTION = "Chien ?"  # the one story() registers with
A = {
    "member_number": HELENE["member_number"],
    "last_name": HELENE["last_name"],
    "declared_first_name": "Hélèna",  # story() registers with this misspelling
    "directory_first_name": HELENE["first_name"],
    "old_email": HELENE["email"],
    "new_email": "neuve@example.org",  # story() changes the e-mail to this
    "birth_date": HELENE["birth_date"],
}
B = {
    "member_number": "M1000008", "last_name": "Cœurdevey", "first_name": "Éloïse",
    "birth_date": "1990-01-15", "email": "eloise.b@example.org",
}
B_MESSAGE = "Bonjour, je souhaite une attestation fiscale."
# The insurer's reference directory: its member list, imported from demo/members.csv, is not the
# service's data about anyone and is not erased (adapters/directory.py creates these tables).
DIRECTORY_TABLES = {"directory_members", "directory_coverages"}


def support(services, name: str = "alice") -> dict[str, str]:
    return bearer(services.staff_tokens.create(name, "support"))


def auditor(services) -> dict[str, str]:
    return bearer(services.staff_tokens.create("audra", "auditor"))


def service_data_text(services) -> str:
    """Every row of every table but the insurer's directory, as text (bytes decoded)."""
    return database_text(services, leave_out=DIRECTORY_TABLES)


def a_personal_values() -> list[str]:
    return [*A.values(), A_QUESTION, A_REGISTRATION_QUESTION]


@pytest.fixture
def world(client, services, clock) -> dict[str, str]:
    """A closed and erased, B active with a support request of their own: the identifiers,
    ids, B's session token and the database text as it was just before A asked for closure."""
    a = story(client, services, clock)
    assert client.put(
        "/api/v1/me/secret-question",
        json={"question": A_QUESTION, "answer": "Berthe", "password": OWN},
        headers=bearer(a["token"]),
    ).status_code == 204

    assert register(client, **B).json["status"] == "accepted"
    [welcome] = [m for m in mails(services) if m["To"] == B["email"]]
    b_identifier, b_temporary = credentials(welcome)
    b_token = sign_in(client, b_identifier, b_temporary).json["token"]
    b_request = client.post("/api/v1/support-requests", json={
        "kind": "other", "last_name": B["last_name"], "first_name": B["first_name"],
        "message": B_MESSAGE, "member_number": B["member_number"],
        "identifier": b_identifier, "email": B["email"],
    })
    assert b_request.status_code == 202, b_request.json

    settle(services)
    before_closure = service_data_text(services)
    clock.advance(minutes=5)
    closure = client.post(
        "/api/v1/me/closure", json={"password": OWN}, headers=bearer(a["token"])
    )
    assert closure.status_code == 202, closure.json
    clock.advance(minutes=5)
    decided = client.post(
        f"/api/v1/support/requests/{closure.json['request_id']}/decision",
        json={"decision": "accept", "note": "Clôture confirmée."}, headers=support(services),
    )
    assert decided.status_code == 200, decided.json
    assert decided.json["status"] == "accepted"
    drain(services)  # the closure notice, sent to the address its message carries
    settle(services)
    return {
        "a_identifier": a["identifier"], "a_request": closure.json["request_id"],
        "b_identifier": b_identifier, "b_token": b_token,
        "b_request": b_request.json["request_id"], "before_closure": before_closure,
    }


def history(client, services, identifier: str) -> list[dict]:
    response = client.get(
        f"/api/v1/audit/accounts/{identifier}/events", headers=auditor(services)
    )
    assert response.status_code == 200, response.json
    return response.json["events"]


def queue_items(client, headers) -> list[dict]:
    found = []
    for status in ("open", "closed"):
        response = client.get(
            "/api/v1/support/queue", query_string={"status": status, "limit": 200},
            headers=headers,
        )
        assert response.status_code == 200, response.json
        found += response.json["items"]
    return found


def queue_detail(client, headers, item_id: str) -> dict:
    response = client.get(f"/api/v1/support/queue/{item_id}", headers=headers)
    assert response.status_code == 200, response.json
    return response.json


# 1. The raw database.


def test_no_value_of_the_erased_member_is_left_in_any_table_of_ours(services, world):
    # Before closure the support queue showed A's number and names in clear: the search can fail.
    for value in (A["member_number"], A["last_name"], A["declared_first_name"],
                  A["directory_first_name"]):
        assert value in world["before_closure"], value
    text = service_data_text(services)
    # The search finds what is there: B's identifier, and A's, a pseudonym that stays.
    assert world["b_identifier"] in text
    assert world["a_identifier"] in text
    for value in a_personal_values():
        assert value not in text, value


# 2. The other member.


def test_the_other_members_data_stays_readable(client, services, world):
    me = client.get("/api/v1/me", headers=bearer(world["b_token"]))
    assert me.status_code == 200, me.json
    assert me.json["email"] == B["email"]
    assert (me.json["first_name"], me.json["last_name"]) == (B["first_name"], B["last_name"])
    events = history(client, services, world["b_identifier"])
    [requested] = [e for e in events if e["type"] == "RegistrationRequested"]
    assert requested["data"]["email"] == B["email"]
    assert requested["data"]["member_number"] == B["member_number"]
    assert requested["data"]["last_name"] == B["last_name"]


# 3. The audit views of the closed account.


def test_the_closed_accounts_history_keeps_types_instants_and_actors_but_no_personal_data(
    client, services, world
):
    events = history(client, services, world["a_identifier"])
    # A notice's NoticeSent lands whenever the worker gets to it: checked apart.
    notices = [e for e in events if e["type"] == "NoticeSent"]
    events = [e for e in events if e["type"] != "NoticeSent"]
    assert [(n["actor"], n["data"]["outcome"]) for n in notices] == [
        ("system:mailer", "sent")  # the password, the e-mail and the closure
    ] * 3
    types = [e["type"] for e in events]
    assert types == [
        "RegistrationRequested", "IdentityMismatchFlagged", "IdentityApproved", "AccountOpened",
        "CredentialsRequested", "TempPasswordIssued", "CredentialsEmailSent", "SignedIn",
        "PasswordChanged", "EmailChangeRequested", "EmailVerificationIssued", "EmailChanged",
        "SecretQuestionSet", "ClosureRequested", "SupportRequestSubmitted",
        "SupportRequestAccepted", "AccountClosed", "PersonalDataErased",
    ]
    positions = [e["position"] for e in events]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    for e in events:
        assert e["occurred_at"] and e["actor"], e
    assert events[-1]["type"] == "PersonalDataErased"
    assert events[-1]["actor"] == "system:erasure"
    assert next(e for e in events if e["type"] == "IdentityApproved")["actor"] == "support:alice"
    assert next(e for e in events if e["type"] == "AccountClosed")["actor"] == "support:alice"
    assert next(e for e in events if e["type"] == "PasswordChanged")["actor"] == (
        f"member:{world['a_identifier']}"
    )

    [requested] = [e for e in events if e["type"] == "RegistrationRequested"]
    for field in ("email", "last_name", "first_name", "member_number", "birth_date",
                  "secret_question"):
        assert requested["data"][field] == ERASED, field
    [flagged] = [e for e in events if e["type"] == "IdentityMismatchFlagged"]
    assert flagged["data"]["declared"] == ERASED and flagged["data"]["directory"] == ERASED
    [changed] = [e for e in events if e["type"] == "EmailChanged"]
    assert (changed["data"]["old"], changed["data"]["new"]) == (ERASED, ERASED)
    [question] = [e for e in events if e["type"] == "SecretQuestionSet"]
    assert question["data"]["question"] == ERASED
    # Every field listed as personal reads erased (hashes are masked on top, None stays None).
    for e in events:
        personal = PERSONAL_EVENTS.get(f"{e['stream'].split(':')[0]}.{e['type']}")
        for field in personal.fields if personal else ():
            assert e["data"].get(field) in (ERASED, None, "[masqué]"), (e["type"], field)
    text = json.dumps(events, ensure_ascii=False)
    for value in a_personal_values():
        assert value not in text, value


def test_the_closed_accounts_state_answers_closed_with_its_email_erased(
    client, services, clock, world
):
    response = client.get(
        f"/api/v1/audit/accounts/{world['a_identifier']}/state",
        query_string={"at": clock.now.isoformat()}, headers=auditor(services),
    )
    assert response.status_code == 200, response.json
    state = response.json["state"]
    assert state["status"] == "closed"
    assert state["email"] == ERASED
    text = json.dumps(response.json, ensure_ascii=False)
    for value in a_personal_values():
        assert value not in text, value


def test_the_support_view_of_the_closed_account_answers_closed_without_personal_data(
    client, services, world
):
    response = client.get(
        f"/api/v1/support/accounts/{world['a_identifier']}", headers=support(services)
    )
    assert response.status_code == 200, response.json
    assert response.json["status"] == "closed"
    text = json.dumps(response.json, ensure_ascii=False)
    for value in a_personal_values():
        assert value not in text, value


# 4. audit verify.


def test_audit_verify_agrees_after_the_erasure(app, world):
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output + (result.stderr or "")


# 5. The support queue.


def test_the_erased_members_queue_items_keep_the_matter_not_the_person(
    client, services, world
):
    headers = support(services)
    listed = queue_items(client, headers)
    review = [i for i in listed if i["kind"] == "identity_review"]
    closure = [i for i in listed if i.get("request_id") == world["a_request"]]
    assert len(review) == 1 and len(closure) == 1
    for found in (*review, *closure):
        detail = queue_detail(client, headers, found["item_id"])
        assert detail["summary"] == QUEUE_ERASED
        assert detail["details"] == {}
        text = json.dumps(detail, ensure_ascii=False)
        for value in a_personal_values():
            assert value not in text, value
    assert closure[0]["kind"] == "closure" and closure[0]["status"] == "closed"

    [other] = [i for i in listed if i.get("request_id") == world["b_request"]]
    assert B["first_name"] in other["summary"] and B["last_name"] in other["summary"]
    assert other["identifier"] == world["b_identifier"]
    details = queue_detail(client, headers, other["item_id"])["details"]
    assert details["email"] == B["email"] and details["member_number"] == B["member_number"]
    assert details["message"] == B_MESSAGE and details["account_found"] is True


# 6. The key table.


def test_the_erased_members_key_is_destroyed_and_the_other_members_kept(services, world):
    cases = services.use_cases
    closed = cases.support.account_for_support(world["a_identifier"])
    kept = cases.support.account_for_support(world["b_identifier"])
    with services.database.transaction(commit=False) as cursor:
        cursor.execute("SELECT subject FROM personal_keys")
        subjects = {row["subject"] for row in cursor.fetchall()}
        cursor.execute("SELECT subject FROM member_subjects")
        found = {row["subject"] for row in cursor.fetchall()}
    assert str(closed.member_key) not in subjects | found
    assert str(kept.member_key) in subjects & found
    # Neither member number finds the closed account's subject any more; B's finds B's.
    assert cases.closure.subjects.find(A["member_number"]) is None
    assert cases.closure.subjects.find(B["member_number"]) == kept.member_key


# 7. The erasure command itself.


def test_erasure_is_idempotent_and_refused_for_an_open_account(services, world):
    cases = services.use_cases
    closed = cases.support.account_for_support(world["a_identifier"])
    assert cases.closure.erase_personal_data(closed.id) is False
    open_account = cases.support.account_for_support(world["b_identifier"])
    with pytest.raises(InvalidTransitionError):
        cases.closure.erase_personal_data(open_account.id)
    assert cases.support.account_for_support(world["b_identifier"]).email == B["email"]
