"""A member's sessions through the API (CONTRACT.md, "Members in control"): listed with the
current one marked and the device in words, one ended, all the others ended; never a token or
a digest in an answer; a session on a temporary password may do none of it."""

from __future__ import annotations

from domain.credentials import token_digest
from tests.helpers import (
    HELENE,
    OWN_PASSWORD,
    assert_error,
    bearer,
    credentials,
    inbox,
    open_account,
    recorded,
    session_bearer,
)

SESSIONS = "/api/v1/me/sessions"
WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/131.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like"
    " Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def signed_in_from(client, identifier: str, user_agent: str | None) -> dict[str, str]:
    headers = {"User-Agent": user_agent} if user_agent is not None else {}
    return session_bearer(client.post(
        "/api/v1/sessions", json={"identifier": identifier, "password": OWN_PASSWORD},
        headers=headers,
    ))


def listed(client, headers) -> list[dict]:
    response = client.get(SESSIONS, headers=headers)
    assert response.status_code == 200, response.json
    assert response.headers["Cache-Control"] == "no-store"
    return response.json["sessions"]


def test_the_sessions_are_listed_newest_first_with_the_current_one_and_the_devices(
    client, services, clock
):
    member = open_account(client, services)
    clock.advance(minutes=1)
    phone = signed_in_from(client, member.identifier, IPHONE)
    clock.advance(minutes=1)
    desktop = signed_in_from(client, member.identifier, WINDOWS)

    sessions = listed(client, desktop)

    # open_account's two (the temporary password's, then her own), from the test client
    assert [(s["device"], s["current"]) for s in sessions] == [
        ("Chrome 131 sur Windows", True), ("Safari sur iPhone", False),
        ("Appareil inconnu", False), ("Appareil inconnu", False),
    ]
    assert set(sessions[0]) == {"session_id", "created_at", "last_seen_at", "device", "current"}
    clock.advance(minutes=1)
    assert [s["current"] for s in listed(client, phone)] == [True, False, False, False]


def test_no_answer_holds_a_token_or_a_digest(client, services):
    member = open_account(client, services)
    other = signed_in_from(client, member.identifier, WINDOWS)
    body = client.get(SESSIONS, headers=member.headers).get_data(as_text=True)
    for headers in (member.headers, other):
        token = headers["Authorization"].removeprefix("Bearer ")
        assert token not in body and token_digest(token) not in body
    for row in services.database.run("SELECT token_digest FROM member_sessions"):
        assert row["token_digest"] not in body


def test_ending_another_session_stops_it_at_once_and_is_recorded(client, services):
    member = open_account(client, services)
    other = signed_in_from(client, member.identifier, IPHONE)
    [ended] = [s for s in listed(client, member.headers) if s["device"] == "Safari sur iPhone"]

    response = client.delete(f"{SESSIONS}/{ended['session_id']}", headers=member.headers)

    assert response.status_code == 204
    assert_error(client.get("/api/v1/me", headers=other), 401, "authentication_required")
    [event] = recorded(services, "SessionEnded")
    assert event.actor == f"member:{member.identifier}"
    assert event.device == "Safari sur iPhone"
    assert client.get("/api/v1/me", headers=member.headers).status_code == 200


def test_ending_the_current_session_is_a_sign_out_and_records_nothing(client, services):
    member = open_account(client, services)
    [mine] = [s for s in listed(client, member.headers) if s["current"]]
    response = client.delete(f"{SESSIONS}/{mine['session_id']}", headers=member.headers)
    assert response.status_code == 204
    assert_error(client.get("/api/v1/me", headers=member.headers), 401, "authentication_required")
    assert recorded(services, "SessionEnded") == []


def test_ending_all_the_others_keeps_only_the_current_one(client, services):
    member = open_account(client, services)
    others = [signed_in_from(client, member.identifier, ua) for ua in (IPHONE, WINDOWS)]

    assert client.delete(SESSIONS, headers=member.headers).status_code == 204

    for headers in others:
        assert_error(client.get("/api/v1/me", headers=headers), 401, "authentication_required")
    assert [s["current"] for s in listed(client, member.headers)] == [True]
    assert sorted(e.device for e in recorded(services, "SessionEnded")) == [
        "Appareil inconnu",  # open_account's first, on the temporary password
        "Chrome 131 sur Windows", "Safari sur iPhone",
    ]
    assert client.delete(SESSIONS, headers=member.headers).status_code == 204  # none left
    assert len(recorded(services, "SessionEnded")) == 3


def test_another_members_session_or_an_unknown_id_is_not_found(client, services):
    helene = open_account(client, services)
    aminata = open_account(client, services, member_number="M1000005", last_name="NDIAYE",
                           first_name="aminata", birth_date="1985-06-03",
                           email="aminata@example.org")
    hers = listed(client, aminata.headers)[0]

    for session_id in (hers["session_id"], "inconnu", "x" * 300):
        response = client.delete(f"{SESSIONS}/{session_id}", headers=helene.headers)
        assert_error(response, 404, "not_found")
    assert client.get("/api/v1/me", headers=aminata.headers).status_code == 200
    assert recorded(services, "SessionEnded") == []


def test_a_session_on_a_temporary_password_may_not_see_or_end_sessions(client, services):
    assert client.post("/api/v1/registrations", json=HELENE).json["status"] == "accepted"
    identifier, temporary = credentials(inbox(services)[0])
    headers = session_bearer(client.post(
        "/api/v1/sessions", json={"identifier": identifier, "password": temporary}
    ))
    for method, path in (("GET", SESSIONS), ("DELETE", SESSIONS), ("DELETE", f"{SESSIONS}/x"),
                         ("GET", "/api/v1/me/export")):
        response = client.open(path, method=method, headers=headers)
        assert_error(response, 403, "password_change_required")


def test_staff_tokens_and_no_token_are_refused(client, services):
    support = bearer(services.staff_tokens.create("alice", "support"))
    assert_error(client.get(SESSIONS, headers=support), 403, "forbidden")
    assert_error(client.get(SESSIONS), 401, "authentication_required")
    assert_error(client.delete(SESSIONS), 401, "authentication_required")
