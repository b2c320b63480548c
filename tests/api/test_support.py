"""The support desk on SQLite and PostgreSQL (CONTRACT.md: "Support (role support)",
POST /api/v1/support-requests, POST /api/v1/me/closure, and in "Rules in detail": "Support
queue", "Closure", "Paging", "Registration order of checks", "GET /me")."""

from __future__ import annotations

import base64
import json
import threading

import pytest

from tests.helpers import (
    DEMO_CSV,
    EMAIL,
    HELENE,
    MEMBER,
    OWN,
    Inbox,
    bearer,
    credentials,
    drain,
    event_types,
    free_port,
    lock,
    mails,
    make_settings,
    member_with_own_password,
    recorded,
    register,
    register_member,
    settle,
    sign_in,
    text_of,
    wait_for,
)

NOTE = "Vérifié par téléphone avec l'adhérente."
NEW_EMAIL = "nouvelle.adresse@example.org"
STRANGER = {"last_name": "Inconnu", "first_name": "Personne", "message": "Bonjour, aidez-moi."}
ACKNOWLEDGED = "Votre demande au support technique (référence "


# Helpers.


def support(services, name: str = "alice") -> dict[str, str]:
    return bearer(services.staff_tokens.create(name, "support"))


def queue(client, headers, **params):
    return client.get("/api/v1/support/queue", query_string=params, headers=headers)


def items(client, services, headers, **params) -> list[dict]:
    settle(services)
    response = queue(client, headers, **params)
    assert response.status_code == 200, response.json
    return response.json["items"]


def item(client, headers, item_id: str) -> dict:
    response = client.get(f"/api/v1/support/queue/{item_id}", headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def decide_registration(client, headers, registration_id: str, decision: str, note: str = NOTE):
    return client.post(
        f"/api/v1/support/registrations/{registration_id}/decision",
        json={"decision": decision, "note": note}, headers=headers,
    )


def decide_request(client, headers, request_id: str, decision: str, **extra: str):
    return client.post(
        f"/api/v1/support/requests/{request_id}/decision",
        json={"decision": decision, "note": NOTE, **extra}, headers=headers,
    )


def submit(client, kind: str, **fields: str):
    return client.post("/api/v1/support-requests", json={"kind": kind, **STRANGER, **fields})


def submitted(client, kind: str, **fields: str) -> str:
    response = submit(client, kind, **fields)
    assert response.status_code == 202, response.json
    assert set(response.json) == {"request_id"}
    return response.json["request_id"]


def in_review(client) -> str:
    """Hélène registers with a misspelt first name: the registration waits for support."""
    response = register(client, first_name="Hélèna")
    assert response.json["status"] == "identity_review"
    return response.json["registration_id"]


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.json
    assert response.json["code"] == code


# identity_review.


def test_a_name_mismatch_opens_an_item_showing_both_spellings(client, services):
    registration_id = in_review(client)
    headers = support(services)
    [listed] = items(client, services, headers)
    assert listed["kind"] == "identity_review" and listed["status"] == "open"
    assert listed["registration_id"] == registration_id
    assert "Hélèna" in listed["summary"] and "Hélène" in listed["summary"]
    detail = item(client, headers, listed["item_id"])
    assert detail["details"]["declared"] == {"last_name": "Dupré-Lefèvre", "first_name": "Hélèna"}
    assert detail["details"]["directory"] == {"last_name": "Dupré-Lefèvre", "first_name": "Hélène"}
    assert detail["decision"] is None


def test_approving_opens_the_account_and_emails_the_credentials(client, services):
    registration_id = in_review(client)
    headers = support(services)
    response = decide_registration(client, headers, registration_id, "approve")
    assert response.status_code == 200, response.json
    assert response.json["registration_id"] == registration_id
    assert response.json["status"] == "approved" and response.json["decided_at"]
    [message] = mails(services)
    assert message["To"] == HELENE["email"]
    identifier, password = credentials(message)
    assert sign_in(client, identifier, password).status_code == 201
    assert client.get(f"/api/v1/registrations/{registration_id}").json["status"] == "approved"
    assert items(client, services, headers) == []
    [closed] = items(client, services, headers, status="closed")
    assert closed["registration_id"] == registration_id
    assert item(client, headers, closed["item_id"])["decision"] == {
        "decision": "approve", "agent": "alice", "note": NOTE,
    }


def test_rejecting_sends_a_french_rejection_and_closes_the_item(client, services):
    registration_id = in_review(client)
    headers = support(services)
    response = decide_registration(client, headers, registration_id, "reject", "Homonyme.")
    assert response.status_code == 200 and response.json["status"] == "rejected"
    [message] = mails(services)
    assert message["To"] == HELENE["email"]
    assert message["Subject"] == "Votre demande d'inscription à l'Espace Client"
    body = text_of(message)
    assert "rejetée" in body and "Mot de passe temporaire" not in body
    assert "AccountOpened" not in event_types(services)
    [closed] = items(client, services, headers, status="closed")
    assert item(client, headers, closed["item_id"])["decision"] == {
        "decision": "reject", "agent": "alice", "note": "Homonyme.",
    }


def test_a_second_registration_decision_is_already_decided(client, services):
    registration_id = in_review(client)
    headers = support(services)
    assert decide_registration(client, headers, registration_id, "approve").status_code == 200
    for decision in ("reject", "approve"):
        assert_error(
            decide_registration(client, headers, registration_id, decision), 409, "already_decided"
        )
    assert event_types(services).count("IdentityApproved") == 1
    assert "IdentityRejected" not in event_types(services)
    assert event_types(services).count("AccountOpened") == 1


@pytest.mark.parametrize("decisions", [("approve", "reject"), ("approve", "approve")])
def test_two_agents_deciding_at_once_get_one_200_and_one_409(client, services, decisions):
    registration_id = in_review(client)
    agents = [support(services, "alice"), support(services, "bob")]
    start = threading.Barrier(2)
    answers: list = []

    def decide(headers, decision):
        start.wait()
        answers.append(decide_registration(client, headers, registration_id, decision))

    threads = [
        threading.Thread(target=decide, args=pair) for pair in zip(agents, decisions, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status_code for r in answers) == [200, 409], [r.json for r in answers]
    loser = next(r for r in answers if r.status_code == 409).json["code"]
    assert loser == "already_decided"
    types = event_types(services)
    assert types.count("IdentityApproved") + types.count("IdentityRejected") == 1
    assert types.count("AccountOpened") == types.count("IdentityApproved")


def test_an_approval_that_loses_the_race_to_another_approval_is_already_decided(
    client, services, monkeypatch
):
    registration_id = in_review(client)
    lifecycle = services.lifecycle
    cases = services.use_cases
    read = lifecycle.get_or_none
    other_agent_done = []

    def read_then_let_bob_approve(aggregate_id):
        found = read(aggregate_id)
        if str(aggregate_id) == registration_id and not other_agent_done:
            # Alice has read the registration (still under review); Bob's approval commits now.
            other_agent_done.append(True)
            monkeypatch.setattr(lifecycle, "get_or_none", read)
            cases.support.decide_registration(found.id, True, "bob", "")
            monkeypatch.setattr(lifecycle, "get_or_none", read_then_let_bob_approve)
        return found

    monkeypatch.setattr(lifecycle, "get_or_none", read_then_let_bob_approve)
    response = decide_registration(client, support(services, "alice"), registration_id, "approve")
    assert other_agent_done
    assert event_types(services).count("AccountOpened") == 1
    assert_error(response, 409, "already_decided")


def test_registration_decisions_are_events_naming_the_agent_and_note(client, services):
    approved = in_review(client)
    decide_registration(client, support(services, "alice"), approved, "approve")
    [event] = recorded(services, "IdentityApproved")
    assert (event.actor, event.agent, event.note) == ("support:alice", "alice", NOTE)
    rejected = register(
        client, member_number="M1000005", last_name="N'Diaye", first_name="Aminatou",
        birth_date="1985-06-03",
    ).json["registration_id"]
    decide_registration(client, support(services, "bob"), rejected, "reject", "Non.")
    [event] = recorded(services, "IdentityRejected")
    assert (event.actor, event.agent, event.note) == ("support:bob", "bob", "Non.")


def test_a_decision_on_an_unknown_registration_is_not_found(client, services):
    headers = support(services)
    for registration_id in ("3f1c1a52-35a5-4a4c-9a57-0d7b1f0f0c11", "pas-un-uuid"):
        assert_error(decide_registration(client, headers, registration_id, "approve"), 404,
                     "not_found")


def test_an_invalid_decision_is_a_validation_error(client, services):
    registration_id = in_review(client)
    headers = support(services)
    response = decide_registration(client, headers, registration_id, "peut-être")
    assert_error(response, 422, "validation_error")
    assert "decision" in response.json["errors"]
    assert "IdentityApproved" not in event_types(services)


# Requests from people who cannot sign in.


@pytest.mark.parametrize("kind", ["email_update", "closure", "other"])
def test_each_kind_of_request_becomes_an_item_even_when_no_account_matches(
    client, services, kind
):
    request_id = submitted(
        client, kind, member_number="M1000001", birth_date="1978-04-12",
        identifier="12345678", email="ancienne@example.org", new_email=NEW_EMAIL,
    )
    headers = support(services)
    [listed] = items(client, services, headers, kind=kind)
    assert listed["request_id"] == request_id and listed["status"] == "open"
    assert listed["kind"] == kind and listed["created_at"]
    detail = item(client, headers, listed["item_id"])
    assert detail["details"]["account_found"] is False
    assert detail["details"]["message"] == STRANGER["message"]
    assert detail["details"]["new_email"] == NEW_EMAIL


def test_a_request_naming_an_account_is_linked_to_it(client, services):
    identifier, _ = register_member(client, services)
    request_id = submitted(client, "other", identifier=identifier)
    headers = support(services)
    [listed] = items(client, services, headers, kind="other")
    assert listed["request_id"] == request_id and listed["identifier"] == identifier
    assert item(client, headers, listed["item_id"])["details"]["account_found"] is True


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "plainte", **STRANGER},
        {"last_name": "Inconnu", "first_name": "Personne", "message": "Bonjour"},
        {"kind": "other", "first_name": "Personne", "message": "Bonjour"},
        {"kind": "other", "last_name": "Inconnu", "message": "Bonjour"},
        {"kind": "other", "last_name": "Inconnu", "first_name": "Personne"},
        {"kind": "other", **STRANGER, "message": "   "},
        {"kind": "other", **STRANGER, "message": "x" * 2001},
        {"kind": "other", **STRANGER, "identifier": "1234"},
        {"kind": "other", **STRANGER, "email": "pas-une-adresse"},
        {"kind": "email_update", **STRANGER, "new_email": "pas-une-adresse"},
        {"kind": "other", **STRANGER, "birth_date": "2999-01-01"},
        {"kind": "other", **STRANGER, "member_number": "m-1!"},
        {"kind": 3, **STRANGER},
    ],
    ids=[
        "unknown-kind", "no-kind", "no-last-name", "no-first-name", "no-message",
        "blank-message", "long-message", "bad-identifier", "bad-email", "bad-new-email",
        "future-birth-date", "bad-member-number", "kind-not-a-string",
    ],
)
def test_an_invalid_support_request_is_a_validation_error(client, services, body):
    response = client.post("/api/v1/support-requests", json=body)
    assert_error(response, 422, "validation_error")
    assert response.json["errors"]
    assert event_types(services) == []


@pytest.mark.parametrize("where", ["decision", "request"])
def test_accepting_an_email_update_sets_the_address_and_sends_fresh_credentials(
    client, services, where
):
    identifier, _ = register_member(client, services)
    in_request = {"new_email": NEW_EMAIL} if where == "request" else {}
    request_id = submitted(client, "email_update", identifier=identifier, **in_request)
    # The acknowledgement goes out before the decision, as it does when an agent takes a
    # request from the queue: sent later, it would find the account's new address.
    drain(services)
    headers = support(services)
    in_decision = {"new_email": NEW_EMAIL} if where == "decision" else {}
    response = decide_request(client, headers, request_id, "accept", **in_decision)
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["request_id"], body["kind"], body["status"]) == (
        request_id, "email_update", "accepted",
    )
    assert (body["agent"], body["note"]) == ("alice", NOTE) and body["decided_at"]
    assert body["reply"] is None and body["reference"] == request_id[:8].upper()
    messages = mails(services)[1:]  # after the registration's own e-mail
    [acknowledged] = [m for m in messages if m["Subject"].startswith(ACKNOWLEDGED)]
    # The new address when the request gives it, else the account's (test_support_emails.py).
    assert acknowledged["To"] == (NEW_EMAIL if where == "request" else EMAIL)
    messages.remove(acknowledged)
    [fresh] = [m for m in messages if m["To"] == NEW_EMAIL]
    [notice] = [m for m in messages if m["To"] == EMAIL]
    assert len(messages) == 2  # no decision e-mail: these two tell of it
    assert "modifiée" in notice["Subject"] and "Mot de passe" not in text_of(notice)
    new_identifier, password = credentials(fresh)
    assert new_identifier == identifier
    assert sign_in(client, identifier, password).status_code == 201
    account = client.get(f"/api/v1/support/accounts/{identifier}", headers=headers).json
    assert account["email"] == NEW_EMAIL
    [changed] = recorded(services, "EmailChanged")
    assert (changed.old, changed.new, changed.actor) == (EMAIL, NEW_EMAIL, "support:alice")
    [accepted] = recorded(services, "SupportRequestAccepted")
    assert (accepted.actor, accepted.agent, accepted.note) == ("support:alice", "alice", NOTE)
    [closed] = items(client, services, headers, status="closed", kind="email_update")
    assert closed["request_id"] == request_id


def member_closure(client, services) -> tuple[str, str, str]:
    """A member with their own password asks for closure from the portal:
    (identifier, session token, request_id)."""
    identifier, token = member_with_own_password(client, services)
    response = client.post("/api/v1/me/closure", json={"password": OWN}, headers=bearer(token))
    assert response.status_code == 202, response.json
    return identifier, token, response.json["request_id"]


def form_closure(client, services) -> tuple[str, str, str]:
    """The same member asks for closure with the public form (identifier + member number)."""
    identifier, token = member_with_own_password(client, services)
    request_id = submitted(
        client, "closure", last_name=MEMBER["last_name"], first_name=MEMBER["first_name"],
        member_number=MEMBER["member_number"], birth_date=MEMBER["birth_date"],
        identifier=identifier, email=EMAIL,
    )
    return identifier, token, request_id


@pytest.mark.parametrize("ask", [member_closure, form_closure], ids=["portal", "form"])
def test_accepting_a_closure_closes_the_account_and_erases_the_member(client, services, ask):
    identifier, token, request_id = ask(client, services)
    headers = support(services)
    response = decide_request(client, headers, request_id, "accept")
    assert response.status_code == 200, response.json
    assert (response.json["kind"], response.json["status"]) == ("closure", "accepted")

    assert_error(client.get("/api/v1/me", headers=bearer(token)), 401, "authentication_required")
    assert sign_in(client, identifier, OWN).status_code == 401

    account = client.get(f"/api/v1/support/accounts/{identifier}", headers=headers)
    assert account.status_code == 200
    assert account.json["status"] == "closed"
    for field in ("email", "member_number", "first_name", "last_name"):
        assert account.json[field] is None, field

    settle(services)
    rows = json.dumps(services.support_queue.all_rows()["support_queue_items"],
                      ensure_ascii=False, default=str)
    assert request_id in rows  # the matter stays
    for personal in ("Hélène", "Dupré", "Lefèvre", EMAIL, "colibri", "M1000001"):
        assert personal not in rows, personal
    [closed_event] = recorded(services, "AccountClosed")
    assert closed_event.actor == "support:alice"

    again = client.post("/api/v1/registrations", json={**MEMBER, "email": "retour@example.org"})
    assert again.status_code == 201 and again.json["status"] == "accepted"
    [welcome] = [m for m in mails(services) if m["To"] == "retour@example.org"]
    new_identifier, password = credentials(welcome)
    assert new_identifier != identifier
    assert sign_in(client, new_identifier, password).status_code == 201


def test_a_closed_members_earlier_rejected_review_is_erased_too(client, services):
    headers = support(services)
    registration_id = register(client, **{**MEMBER, "email": EMAIL, "first_name": "Hélèna"}).json[
        "registration_id"
    ]
    assert decide_registration(client, headers, registration_id, "reject").status_code == 200
    _, _, request_id = member_closure(client, services)
    assert decide_request(client, headers, request_id, "accept").status_code == 200
    settle(services)
    rows = json.dumps(services.support_queue.all_rows()["support_queue_items"],
                      ensure_ascii=False, default=str)
    for personal in ("Hélène", "Dupré", "M1000001"):
        assert personal not in rows, personal


def test_rejecting_a_request_answers_rejected_and_a_second_decision_is_already_decided(
    client, services
):
    request_id = submitted(client, "other")
    headers = support(services)
    response = decide_request(client, headers, request_id, "reject")
    assert response.status_code == 200, response.json
    assert (response.json["status"], response.json["agent"]) == ("rejected", "alice")
    for decision in ("accept", "reject"):
        assert_error(decide_request(client, headers, request_id, decision), 409,
                     "already_decided")
    [closed] = items(client, services, headers, status="closed")
    assert closed["request_id"] == request_id
    assert item(client, headers, closed["item_id"])["decision"] == {
        "decision": "reject", "agent": "alice", "note": NOTE,
    }
    [event] = recorded(services, "SupportRequestRejected")
    assert event.actor == "support:alice"


def test_a_second_decision_on_an_accepted_closure_is_already_decided(client, services):
    _, _, request_id = member_closure(client, services)
    headers = support(services)
    assert decide_request(client, headers, request_id, "accept").status_code == 200
    assert_error(decide_request(client, headers, request_id, "reject"), 409, "already_decided")
    assert event_types(services).count("AccountClosed") == 1


def test_a_decision_on_an_unknown_request_is_not_found(client, services):
    headers = support(services)
    for request_id in ("3f1c1a52-35a5-4a4c-9a57-0d7b1f0f0c11", "pas-un-uuid"):
        assert_error(decide_request(client, headers, request_id, "accept"), 404, "not_found")


# The member's own closure request.


def test_a_signed_in_member_can_ask_for_closure(client, services):
    identifier, token, request_id = member_closure(client, services)
    headers = support(services)
    [listed] = items(client, services, headers, kind="closure")
    assert listed["request_id"] == request_id and listed["identifier"] == identifier
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200  # not closed yet
    assert "ClosureRequested" in event_types(services)


def test_a_closure_request_with_a_wrong_password_is_a_validation_error(client, services):
    _, token = member_with_own_password(client, services)
    response = client.post(
        "/api/v1/me/closure", json={"password": "Pas le bon mot de passe"}, headers=bearer(token)
    )
    assert_error(response, 422, "validation_error")
    assert "password" in response.json["errors"]
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert items(client, services, support(services)) == []
    assert "SupportRequestSubmitted" not in event_types(services)


# undelivered_email.


@pytest.fixture
def smtp_app(tmp_path, database_url, clock):
    """An app whose mail goes to SMTP on a port where nothing listens until the test says."""
    from aiosmtpd.controller import Controller

    from app import create_app

    port = free_port()
    settings = make_settings(tmp_path, database_url, ACCOUNTS_MAIL_URL=f"smtp://127.0.0.1:{port}")
    flask_app = create_app(settings, clock=clock)
    services = flask_app.extensions["accounts"]
    services.directory.import_csv(DEMO_CSV.read_text(encoding="utf-8"))
    controllers: list = []
    inbox = Inbox()

    def start_mail_server() -> Inbox:
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        return inbox

    yield flask_app.test_client(), services, start_mail_server
    for controller in controllers:
        controller.stop()
    services.close()


def test_an_undelivered_credentials_email_is_an_item_until_the_mail_server_accepts_it(
    smtp_app, clock
):
    from workers.checks import flag_overdue_credentials

    client, services, start_mail_server = smtp_app
    assert register(client).json["status"] == "accepted"
    [opened] = recorded(services, "AccountOpened")
    wait_for(lambda: "CredentialsEmailFailed" in event_types(services), 10, "a failed delivery")
    assert "CredentialsEmailSent" not in event_types(services)
    settle(services)
    clock.advance(minutes=61)
    assert flag_overdue_credentials(
        services.use_cases.mail, services.support_queue, services.clock
    ) == 1
    headers = support(services)
    [listed] = items(client, services, headers, kind="undelivered_email")
    assert listed["identifier"] == opened.identifier and listed["status"] == "open"
    assert recorded(services, "CredentialsEmailOverdue")[0].identifier == opened.identifier

    inbox = start_mail_server()  # the dramatiq retry (5-10 s backoff, then more) delivers
    wait_for(lambda: "CredentialsEmailSent" in event_types(services), 60, "the delivery")
    settle(services)
    assert items(client, services, headers, kind="undelivered_email") == []
    assert item(client, headers, listed["item_id"])["status"] == "closed"
    [message] = inbox.messages
    assert message["To"] == HELENE["email"]
    identifier, password = credentials(message)
    assert identifier == opened.identifier
    assert sign_in(client, identifier, password).status_code == 201


# Account actions.


def test_support_sees_an_account_with_its_credentials_email(client, services):
    identifier, _ = register_member(client, services)
    response = client.get(f"/api/v1/support/accounts/{identifier}", headers=support(services))
    assert response.status_code == 200
    account = response.json
    assert account["identifier"] == identifier and account["status"] == "active"
    assert (account["email"], account["member_number"]) == (EMAIL, "M1000001")
    assert (account["first_name"], account["last_name"]) == ("Hélène", "Dupré-Lefèvre")
    assert account["locked_until"] is None and account["created_at"].endswith("+00:00")
    assert account["has_signed_in"] is False and account["must_change_password"] is True
    assert account["credentials_email"]["sent"] is True
    assert account["credentials_email"]["reason"] == "registration"


def test_a_support_resend_sends_new_credentials_even_past_the_cap(client, services):
    for _ in range(3):  # an interrupted registration, restarted twice
        assert register(client).json["status"] == "accepted"
        mails(services)  # each e-mail goes out before the next request supersedes it
    assert_error(register(client), 429, "rate_limited")
    first = mails(services)
    assert len(first) == 3
    identifier = credentials(first[0])[0]
    response = client.post(
        f"/api/v1/support/accounts/{identifier}/credentials", headers=support(services)
    )
    assert response.status_code == 202 and response.json["message"]
    messages = mails(services)
    assert len(messages) == 4
    again, password = credentials(messages[-1])  # files are named by time: newest last
    assert again == identifier
    assert sign_in(client, identifier, password).status_code == 201
    requested = recorded(services, "CredentialsRequested")[-1]
    assert (requested.reason, requested.actor) == ("support_resend", "support:alice")


def test_unlocking_a_locked_account_lets_the_right_password_sign_in(client, services):
    identifier, _ = member_with_own_password(client, services)
    lock(client, identifier)
    assert sign_in(client, identifier, OWN).status_code == 401  # locked
    headers = support(services)
    locked = client.get(f"/api/v1/support/accounts/{identifier}", headers=headers).json
    assert locked["locked_until"] is not None
    response = client.post(f"/api/v1/support/accounts/{identifier}/unlock", headers=headers)
    assert response.status_code == 200, response.json
    assert response.json["identifier"] == identifier and response.json["locked_until"] is None
    assert sign_in(client, identifier, OWN).status_code == 201
    [event] = recorded(services, "AccountUnlocked")
    assert (event.actor, event.agent) == ("support:alice", "alice")


@pytest.mark.parametrize("identifier", ["87654321", "abc", "1234567890"])
def test_account_actions_on_an_unknown_identifier_are_not_found(client, services, identifier):
    headers = support(services)
    calls = [
        client.get(f"/api/v1/support/accounts/{identifier}", headers=headers),
        client.post(f"/api/v1/support/accounts/{identifier}/credentials", headers=headers),
        client.post(f"/api/v1/support/accounts/{identifier}/unlock", headers=headers),
    ]
    for response in calls:
        assert_error(response, 404, "not_found")
    assert event_types(services) == []


# Queue paging and filters.


def test_the_queue_filters_by_kind_and_status(client, services):
    registration_id = in_review(client)
    other = submitted(client, "other")
    closure = submitted(client, "closure")
    headers = support(services)
    assert decide_request(client, headers, other, "reject").status_code == 200

    def keys(listed):
        return [i.get("registration_id") or i.get("request_id") for i in listed]

    assert keys(items(client, services, headers)) == [registration_id, closure]
    assert keys(items(client, services, headers, status="open")) == [registration_id, closure]
    assert keys(items(client, services, headers, status="closed")) == [other]
    assert keys(items(client, services, headers, kind="closure")) == [closure]
    assert keys(items(client, services, headers, kind="other")) == []
    assert keys(items(client, services, headers, kind="other", status="closed")) == [other]
    assert items(client, services, headers, kind="undelivered_email") == []


def test_the_queue_shows_50_items_by_default(client, services):
    for n in range(51):
        submitted(client, "other", message=f"Demande numéro {n}")
    headers = support(services)
    settle(services)
    first = queue(client, headers).json
    assert len(first["items"]) == 50 and first["next_cursor"]
    rest = queue(client, headers, cursor=first["next_cursor"]).json
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert "numéro 50" in rest["items"][0]["summary"]


def cursor_of(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"}, {"limit": "201"}, {"limit": "-1"}, {"limit": "dix"}, {"limit": ""},
        {"status": "pending"}, {"kind": "complaint"}, {"cursor": "!!!"},
        {"cursor": cursor_of("foo")}, {"cursor": cursor_of("q-3")}, {"cursor": "é"},
        {"cursor": "x" * 101},
    ],
    ids=[
        "limit-0", "limit-201", "limit-negative", "limit-word", "limit-empty", "bad-status",
        "bad-kind", "cursor-not-base64", "cursor-not-ours", "cursor-negative",
        "cursor-non-ascii", "cursor-too-long",
    ],
)
def test_bad_queue_parameters_are_validation_errors(client, services, params):
    response = queue(client, support(services), **params)
    assert_error(response, 422, "validation_error")
    assert set(response.json["errors"]) <= {"limit", "status", "kind", "cursor"}


def test_a_forged_cursor_past_64_bits_is_a_validation_error(client, services):
    response = queue(client, support(services), cursor=cursor_of("q" + "9" * 30))
    assert_error(response, 422, "validation_error")
    assert set(response.json["errors"]) == {"cursor"}


def test_limits_1_and_200_are_accepted(client, services):
    headers = support(services)
    for limit in ("1", "200"):
        response = queue(client, headers, limit=limit)
        assert response.status_code == 200 and response.json == {"items": [], "next_cursor": None}


def test_paging_is_oldest_first_and_stable_as_new_items_arrive(client, services):
    created = [submitted(client, "other", message=f"Demande {n}") for n in range(5)]
    headers = support(services)
    settle(services)
    page = queue(client, headers, limit=2).json
    seen = [i["request_id"] for i in page["items"]]
    assert seen == created[:2] and page["next_cursor"]
    created += [submitted(client, "other", message=f"Plus tard {n}") for n in range(2)]
    settle(services)
    cursor = page["next_cursor"]
    pages = 1
    while cursor:
        page = queue(client, headers, limit=2, cursor=cursor).json
        assert len(page["items"]) <= 2
        seen += [i["request_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        pages += 1
        if pages == 3:  # one more arrives in the middle of the walk
            created.append(submitted(client, "other", message="Encore une"))
            settle(services)
    assert seen == created  # each once, oldest first
    assert pages == 4
    assert [i["created_at"] for i in items(client, services, headers)] == sorted(
        i["created_at"] for i in items(client, services, headers)
    )


def test_an_unknown_queue_item_is_not_found(client, services):
    headers = support(services)
    for item_id in ("3f1c1a52-35a5-4a4c-9a57-0d7b1f0f0c11", "nope"):
        assert_error(client.get(f"/api/v1/support/queue/{item_id}", headers=headers), 404,
                     "not_found")


# Roles.


UUID = "3f1c1a52-35a5-4a4c-9a57-0d7b1f0f0c11"
SUPPORT_ENDPOINTS = [
    ("GET", "/api/v1/support/queue", None),
    ("GET", f"/api/v1/support/queue/{UUID}", None),
    ("POST", f"/api/v1/support/registrations/{UUID}/decision", {"decision": "approve"}),
    ("POST", f"/api/v1/support/requests/{UUID}/decision", {"decision": "accept"}),
    ("GET", "/api/v1/support/accounts/{identifier}", None),
    ("POST", "/api/v1/support/accounts/{identifier}/credentials", None),
    ("POST", "/api/v1/support/accounts/{identifier}/unlock", None),
]


@pytest.mark.parametrize(
    ("caller", "status", "code"),
    [
        ("nobody", 401, "authentication_required"),
        ("member", 403, "forbidden"),
        ("temporary-member", 403, "forbidden"),
        ("auditor", 403, "forbidden"),
        ("claims", 403, "forbidden"),
    ],
)
def test_support_endpoints_answer_only_a_support_token(client, services, caller, status, code):
    if caller in ("member", "temporary-member"):
        identifier, temporary = register_member(client, services)
        token = sign_in(client, identifier, temporary).json["token"]
        if caller == "member":
            client.put(
                "/api/v1/me/password",
                json={"current_password": temporary, "new_password": OWN},
                headers=bearer(token),
            )
        headers = bearer(token)
    else:
        identifier = register_member(client, services)[0]
        headers = {} if caller == "nobody" else bearer(
            services.staff_tokens.create("mallory", caller)
        )
    drain(services)  # the password-change notice records its NoticeSent before the count
    before = event_types(services)
    for method, path, body in SUPPORT_ENDPOINTS:
        url = path.format(identifier=identifier)
        response = client.open(url, method=method, json=body, headers=headers)
        assert response.status_code == status, (method, url, response.json)
        assert response.json["code"] == code, (method, url)
    assert event_types(services) == before


def test_a_support_token_is_forbidden_on_member_endpoints(client, services):
    headers = support(services)
    calls = [
        client.get("/api/v1/me", headers=headers),
        client.post("/api/v1/me/closure", json={"password": OWN}, headers=headers),
    ]
    for response in calls:
        assert_error(response, 403, "forbidden")
