"""GET /api/v1/audit/accounts/{identifier}/state?at=INSTANT (CONTRACT.md, "Audit", v1.1): the
account as it stood at an instant, in the documented schema and nothing more, on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import jsonschema_rs
import pytest

from domain.account import LOCK_DURATION
from domain.personal_data import ERASED
from tests.helpers import (
    ANSWER,
    HELENE,
    OWN,
    assert_error,
    bearer,
    credentials,
    drain,
    inbox,
    lock,
    mails,
    register,
    settle,
    sign_in,
    text_of,
)

STATE_KEYS = {
    "status", "email", "must_change_password", "locked_until", "alerts", "secret_question",
    "last_sign_in_at",
}
QUESTION = "Nom de mon premier chien ?"
NEW_EMAIL = "neuve@example.org"


@pytest.fixture
def auditor(services) -> dict[str, str]:
    return bearer(services.staff_tokens.create("audra", "auditor"))


def state_at(client, auditor, identifier: str, at: datetime | str) -> dict[str, Any]:
    response = client.get(
        f"/api/v1/audit/accounts/{identifier}/state",
        query_string={"at": at if isinstance(at, str) else at.isoformat()}, headers=auditor,
    )
    assert response.status_code == 200, response.json
    return response.json


def instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@pytest.fixture
def lived(client, services, clock) -> dict[str, Any]:
    """Hélène's account, one step a minute: registered (t0), signed in with the temporary
    password (t1), her own password (t2), alerts on (t3), a secret question (t4), a new
    e-mail address confirmed (t5). The instants, her identifier, token and secrets."""
    t: dict[str, Any] = {"t0": clock.now}
    assert register(client).json["status"] == "accepted"
    identifier, temporary = credentials(inbox(services)[-1])
    clock.advance(minutes=1)
    t["t1"] = clock.now
    token = sign_in(client, identifier, temporary).json["token"]
    member = bearer(token)
    clock.advance(minutes=1)
    t["t2"] = clock.now
    assert client.put("/api/v1/me/password", json={
        "current_password": temporary, "new_password": OWN}, headers=member).status_code == 204
    clock.advance(minutes=1)
    t["t3"] = clock.now
    assert client.put("/api/v1/me/alerts", json={"reimbursements": True},
                      headers=member).status_code == 200
    clock.advance(minutes=1)
    t["t4"] = clock.now
    assert client.put("/api/v1/me/secret-question", json={
        "question": QUESTION, "answer": ANSWER, "password": OWN}, headers=member
    ).status_code == 204
    clock.advance(minutes=1)
    assert client.post("/api/v1/me/email", json={"new_email": NEW_EMAIL, "password": OWN},
                       headers=member).status_code == 202
    code = next(text_of(m).split("Code de vérification : ")[1].split()[0]
                for m in mails(services) if m["To"] == NEW_EMAIL)
    t["t5"] = clock.now
    assert client.post("/api/v1/email-verifications", json={"token": code}).status_code == 200
    drain(services)
    return {**t, "identifier": identifier, "token": token, "temporary": temporary, "code": code}


def test_the_answer_has_exactly_the_documented_keys(client, auditor, lived):
    answer = state_at(client, auditor, lived["identifier"], lived["t5"])
    assert set(answer) == {"identifier", "at", "version", "state"}
    assert set(answer["state"]) == STATE_KEYS  # no hash, counter, pending request or list
    assert answer["identifier"] == lived["identifier"]
    assert instant(answer["at"]) == lived["t5"]


def test_the_state_follows_the_first_sign_in_and_the_password_change(client, auditor, lived):
    one_second = timedelta(seconds=1)
    registered = state_at(client, auditor, lived["identifier"], lived["t0"])["state"]
    assert registered == {
        "status": "open", "email": HELENE["email"], "must_change_password": True,
        "locked_until": None, "alerts": False, "secret_question": None,
        "last_sign_in_at": None,
    }
    signed_in = state_at(client, auditor, lived["identifier"], lived["t2"] - one_second)
    assert instant(signed_in["state"]["last_sign_in_at"]) == lived["t1"]
    assert signed_in["state"]["must_change_password"] is True
    changed = state_at(client, auditor, lived["identifier"], lived["t2"])
    assert changed["state"]["must_change_password"] is False
    assert changed["version"] > signed_in["version"]


def test_the_state_follows_alerts_question_and_email_change(client, auditor, lived):
    one_second = timedelta(seconds=1)
    before_alerts = state_at(client, auditor, lived["identifier"], lived["t3"] - one_second)
    assert before_alerts["state"]["alerts"] is False
    assert state_at(client, auditor, lived["identifier"], lived["t3"])["state"]["alerts"] is True
    before_question = state_at(client, auditor, lived["identifier"], lived["t4"] - one_second)
    assert before_question["state"]["secret_question"] is None
    questioned = state_at(client, auditor, lived["identifier"], lived["t4"])["state"]
    assert questioned["secret_question"] == QUESTION
    assert state_at(client, auditor, lived["identifier"], lived["t5"] - one_second)[
        "state"]["email"] == HELENE["email"]
    assert state_at(client, auditor, lived["identifier"], lived["t5"])[
        "state"]["email"] == NEW_EMAIL


def test_a_lockout_reads_locked_exactly_until_its_end(client, services, clock, auditor, lived):
    clock.advance(minutes=1)
    locked_at = clock.now
    lock(client, lived["identifier"])
    end = locked_at + LOCK_DURATION
    before = state_at(client, auditor, lived["identifier"], locked_at - timedelta(seconds=1))
    assert (before["state"]["status"], before["state"]["locked_until"]) == ("open", None)
    for at in (locked_at, end - timedelta(seconds=1)):
        then = state_at(client, auditor, lived["identifier"], at)["state"]
        assert then["status"] == "locked", at
        assert instant(then["locked_until"]) == end
    for at in (end, end + timedelta(seconds=1)):
        after = state_at(client, auditor, lived["identifier"], at)["state"]
        assert (after["status"], after["locked_until"]) == ("open", None), at
    # The same lock read from a later instant, with no event since: still open.
    assert state_at(client, auditor, lived["identifier"], end + timedelta(days=1))[
        "state"]["status"] == "open"


def test_closure_then_erasure_read_closed_and_erased(client, services, clock, auditor, lived):
    clock.advance(minutes=1)
    closure = client.post("/api/v1/me/closure", json={"password": OWN},
                          headers=bearer(lived["token"]))
    assert closure.status_code == 202, closure.json
    clock.advance(minutes=1)
    closed_at = clock.now
    support = bearer(services.staff_tokens.create("alice", "support"))
    assert client.post(
        f"/api/v1/support/requests/{closure.json['request_id']}/decision",
        json={"decision": "accept", "note": "Clôture confirmée."}, headers=support,
    ).status_code == 200
    drain(services)
    settle(services)
    just_before = state_at(client, auditor, lived["identifier"], closed_at - timedelta(seconds=1))
    closed = state_at(client, auditor, lived["identifier"], closed_at)
    assert just_before["state"]["status"] == "open"
    assert closed["state"]["status"] == "closed"
    # Erased since: every instant reads the placeholders, never her data.
    for answer in (just_before, closed):
        assert answer["state"]["email"] == ERASED
        assert answer["state"]["secret_question"] == ERASED
    text = json.dumps(
        [state_at(client, auditor, lived["identifier"], lived[t]) for t in ("t0", "t4", "t5")],
        ensure_ascii=False,
    ) + json.dumps([just_before, closed], ensure_ascii=False)
    assert ERASED in text  # the search finds what is there
    for value in (HELENE["email"], NEW_EMAIL, QUESTION, HELENE["member_number"]):
        assert value not in text, value


def test_no_secret_is_in_any_state(client, auditor, lived):
    text = json.dumps(
        [state_at(client, auditor, lived["identifier"], lived[f"t{n}"]) for n in range(6)],
        ensure_ascii=False,
    )
    assert QUESTION in text and lived["identifier"] in text  # the search can fail
    for secret in (lived["temporary"], OWN, ANSWER, lived["token"], lived["code"], "$2b$",
                   "[masqué]"):
        assert secret not in text, secret


def test_a_state_before_the_account_existed_or_of_no_account_is_not_found(
    client, auditor, lived
):
    too_early = (lived["t0"] - timedelta(seconds=1)).isoformat()
    url = f"/api/v1/audit/accounts/{lived['identifier']}/state"
    assert_error(client.get(url, query_string={"at": too_early}, headers=auditor), 404,
                 "not_found")
    for unknown in ("00000000", "abc", "1234567890"):
        response = client.get(f"/api/v1/audit/accounts/{unknown}/state",
                              query_string={"at": lived["t5"].isoformat()}, headers=auditor)
        assert_error(response, 404, "not_found")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the answer is HTTP's
@pytest.mark.parametrize("query", [
    {}, {"at": ""}, {"at": "hier"}, {"at": "2026-12-03T10:00:00"}, {"at": "2026-13-03T10:00Z"},
    {"at": "2026-12-03T10:00:00 01:00"},  # a "+" sent unescaped arrives as a space
])
def test_an_absent_or_invalid_instant_is_a_validation_error_on_at(client, auditor, query):
    response = client.get("/api/v1/audit/accounts/12345678/state", query_string=query,
                          headers=auditor)
    assert_error(response, 422, "validation_error")
    assert set(response.json) == {"code", "message", "errors"}
    assert list(response.json["errors"]) == ["at"]


@pytest.mark.parametrize(("at", "status"), [
    ("0001-01-01T00:00:00+14:00", 404), ("9999-12-31T23:59:59-14:00", 200),
])
def test_the_far_ends_of_time_answer_without_a_server_error(client, auditor, lived, at, status):
    # Both are out of range once moved to UTC: nothing may convert them.
    response = client.get(f"/api/v1/audit/accounts/{lived['identifier']}/state",
                          query_string={"at": at}, headers=auditor)
    assert response.status_code == status, response.json


def test_the_document_describes_the_state_exactly(client, auditor, lived):
    document = client.get("/api/v1/openapi.json").json
    operation = document["paths"]["/api/v1/audit/accounts/{identifier}/state"]["get"]
    media = operation["responses"]["200"]["content"]["application/json"]
    schemas = document["components"]["schemas"]
    outer = schemas[media["schema"]["$ref"].rsplit("/", 1)[1]]
    inner = schemas[outer["properties"]["state"]["$ref"].rsplit("/", 1)[1]]
    assert set(outer["properties"]) == {"identifier", "at", "version", "state"}
    assert set(inner["properties"]) == set(inner["required"]) == STATE_KEYS
    assert inner["additionalProperties"] is False and outer["additionalProperties"] is False
    assert inner["properties"]["status"]["enum"] == ["open", "locked", "closed"]
    # A real answer, and the document's example, are what the schema says.
    validator = jsonschema_rs.validator_for(nullable_as_null(
        {**media["schema"], "components": document["components"]}
    ))
    for answer in (state_at(client, auditor, lived["identifier"], lived["t5"]), media["example"]):
        assert [e.message for e in validator.iter_errors(answer)] == []
    assert not validator.is_valid({**media["example"], "state": {
        **media["example"]["state"], "failed_sign_ins": 0}})


def nullable_as_null(node: Any) -> Any:
    """OpenAPI 3.0's `nullable` as JSON Schema's null type."""
    if isinstance(node, list):
        return [nullable_as_null(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: nullable_as_null(v) for k, v in node.items()}
    if node.pop("nullable", False) and "type" in node:
        node["type"] = [node["type"], "null"]
    return node
