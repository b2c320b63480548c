"""Recovery, e-mail change, secret question, alerts and GET /me on SQLite and PostgreSQL.

CONTRACT.md: "POST /api/v1/recoveries", "POST /api/v1/me/email", "PUT /api/v1/me/secret-question",
"PUT /api/v1/me/alerts", "GET /api/v1/me", "E-mails" and the rules "Recovery", "E-mail
verification" and the shared cap of 3 credentials e-mails per account per 24 h.
"""

from __future__ import annotations

import hashlib
import logging

import pytest

from tests.helpers import (
    CODE,
    HELENE,
    IDENTITY,
    NEW_EMAIL,
    OWN_PASSWORD,
    Member,
    assert_error,
    credentials,
    database_text,
    drain,
    event_types,
    inbox,
    open_account,
    put_alerts,
    session_bearer,
    sign_in,
    text_of,
)

QUESTION = "Nom de mon premier chien ?"
ANSWER = "Médor Zéphyrin"
ANSWER_TYPED_OTHERWISE = "  MEDOR  zephyrin "  # same answer: case, accents and spaces differ
# The same person, typed in another case and without accents.
IDENTITY_TYPED_OTHERWISE = {**IDENTITY, "last_name": "DUPRE LEFEVRE", "first_name": "helene"}
def open_account_with_question(client, services) -> Member:
    return open_account(client, services, secret_question=QUESTION, secret_answer=ANSWER)


def recover(client, **changes: str):
    return client.post("/api/v1/recoveries", json={**IDENTITY, **changes})


def nothing_matched(client):
    """A recovery for an unknown member number: the answer every recovery must look like."""
    return recover(client, member_number="ZZ999")


def me(client, member: Member) -> dict:
    response = client.get("/api/v1/me", headers=member.headers)
    assert response.status_code == 200, response.json
    return response.json


def fresh_me(client, member: Member) -> dict:
    """GET /me in a new session (the clock may have moved past the old one's expiry)."""
    headers = session_bearer(sign_in(client, member.identifier, member.password))
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 200
    return response.json


def event_count(services) -> int:
    drain(services)
    return len(event_types(services))


def request_email_change(client, member: Member, new_email: str = NEW_EMAIL):
    return client.post(
        "/api/v1/me/email",
        json={"new_email": new_email, "password": member.password},
        headers=member.headers,
    )


def verify(client, token: str):
    return client.post("/api/v1/email-verifications", json={"token": token})


def code_sent(services, to: str = NEW_EMAIL) -> str:
    [message] = [m for m in inbox(services) if m["To"] == to]
    return CODE.search(text_of(message)).group(1)


# --- POST /api/v1/recoveries ------------------------------------------------------------------


def test_a_matching_identity_gets_new_credentials_at_the_address_on_file(client, services):
    member = open_account(client, services)
    response = recover(client, **IDENTITY_TYPED_OTHERWISE)
    assert response.status_code == 202
    [message] = inbox(services)
    assert message["To"] == HELENE["email"]
    identifier, temporary = credentials(message)
    assert identifier == member.identifier
    session = sign_in(client, identifier, temporary)
    assert session.status_code == 201 and session.json["must_change_password"] is True
    assert "RecoveryRequested" in event_types(services)


@pytest.mark.parametrize(
    "identity",
    [
        {**IDENTITY, "member_number": "ZZ999"},
        {**IDENTITY, "birth_date": "1978-04-13"},
        {**IDENTITY, "last_name": "Dupont"},
        {**IDENTITY, "first_name": "Hélèna"},
        {**IDENTITY, "last_name": "Dupont", "new_email": NEW_EMAIL, "secret_answer": ANSWER},
        {"member_number": "M1000005", "last_name": "N'Diaye", "first_name": "Aminata",
         "birth_date": "1985-06-03"},
    ],
    ids=["unknown-number", "wrong-birth-date", "wrong-last-name", "wrong-first-name",
         "wrong-names-with-the-right-answer", "member-without-account"],
)
def test_a_recovery_that_matches_nothing_answers_the_same_and_records_nothing(
    client, services, identity
):
    open_account_with_question(client, services)
    matched = recover(client)
    assert len(inbox(services)) == 1
    before = event_count(services)
    response = client.post("/api/v1/recoveries", json=identity)
    assert (response.status_code, response.json) == (matched.status_code, matched.json)
    assert response.status_code == 202
    assert event_count(services) == before
    assert inbox(services) == []


def test_the_own_password_keeps_working_after_a_recovery_until_the_temporary_one_is_used(
    client, services
):
    member = open_account(client, services)
    recover(client)
    _, temporary = credentials(inbox(services)[0])
    own = sign_in(client, member.identifier, OWN_PASSWORD)
    assert own.status_code == 201 and own.json["must_change_password"] is False
    assert sign_in(client, member.identifier, temporary).status_code == 201
    assert_error(sign_in(client, member.identifier, OWN_PASSWORD), 401, "invalid_credentials")


def test_at_most_three_credentials_emails_per_24_hours_counting_the_registration(
    client, services, clock
):
    member = open_account(client, services)
    for _ in range(2):
        assert recover(client).status_code == 202
        assert len(inbox(services)) == 1
    third = recover(client)
    assert (third.status_code, third.json) == (202, nothing_matched(client).json)
    assert inbox(services) == []
    clock.advance(hours=24)
    assert recover(client).status_code == 202
    [message] = inbox(services)
    assert credentials(message)[0] == member.identifier
    types = event_types(services)
    assert types.count("RecoveryRequested") == 4  # every matched attempt, the capped one too
    assert types.count("CredentialsEmailSent") == 4  # registration, 2 recoveries, 1 after 24 h
    assert types.count("CredentialsRequested") == 4  # the capped attempt requested nothing


def test_a_newer_temporary_password_cancels_the_older_one(client, services):
    member = open_account(client, services)
    recover(client)
    [first] = inbox(services)
    recover(client)
    [second] = inbox(services)
    assert_error(sign_in(client, member.identifier, credentials(first)[1]), 401,
                 "invalid_credentials")
    assert sign_in(client, member.identifier, credentials(second)[1]).status_code == 201


def test_the_right_secret_answer_changes_the_email_first_and_sends_the_credentials_there(
    client, services
):
    member = open_account_with_question(client, services)
    response = recover(
        client, **IDENTITY_TYPED_OTHERWISE, new_email=NEW_EMAIL,
        secret_answer=ANSWER_TYPED_OTHERWISE,
    )
    assert (response.status_code, response.json) == (202, nothing_matched(client).json)
    messages = {m["To"]: m for m in inbox(services)}
    assert set(messages) == {NEW_EMAIL, HELENE["email"]}
    identifier, _ = credentials(messages[NEW_EMAIL])
    assert identifier == member.identifier
    notice = messages[HELENE["email"]]
    assert "adresse e-mail" in notice["Subject"]
    assert "Mot de passe temporaire" not in text_of(notice)
    assert fresh_me(client, member)["email"] == NEW_EMAIL
    assert "EmailChanged" in event_types(services)


def test_a_wrong_secret_answer_changes_nothing_and_sends_nothing(client, services):
    member = open_account_with_question(client, services)
    response = recover(client, new_email=NEW_EMAIL, secret_answer="Rex")
    assert (response.status_code, response.json) == (202, nothing_matched(client).json)
    assert inbox(services) == []
    types = event_types(services)
    assert "EmailChanged" not in types and types.count("CredentialsRequested") == 1
    assert fresh_me(client, member)["email"] == HELENE["email"]


def test_an_answer_for_an_account_without_a_secret_question_changes_nothing(client, services):
    member = open_account(client, services)
    response = recover(client, new_email=NEW_EMAIL, secret_answer=ANSWER)
    assert response.status_code == 202
    assert inbox(services) == []
    assert "EmailChanged" not in event_types(services)
    assert fresh_me(client, member)["email"] == HELENE["email"]


def test_three_wrong_answers_in_24_hours_close_the_secret_answer_path(client, services):
    member = open_account_with_question(client, services)
    for _ in range(3):
        assert recover(client, new_email=NEW_EMAIL, secret_answer="Rex").status_code == 202
    response = recover(client, new_email=NEW_EMAIL, secret_answer=ANSWER)
    assert response.status_code == 202
    assert inbox(services) == []
    assert "EmailChanged" not in event_types(services)
    assert fresh_me(client, member)["email"] == HELENE["email"]
    # Only the secret-answer path is closed: plain recovery still works.
    recover(client)
    [message] = inbox(services)
    assert message["To"] == HELENE["email"]


def test_the_secret_answer_path_opens_again_after_24_hours(client, services, clock):
    member = open_account_with_question(client, services)
    for _ in range(3):
        recover(client, new_email=NEW_EMAIL, secret_answer="Rex")
    clock.advance(hours=24)
    recover(client, new_email=NEW_EMAIL, secret_answer=ANSWER_TYPED_OTHERWISE)
    messages = {m["To"]: m for m in inbox(services)}
    assert set(messages) == {NEW_EMAIL, HELENE["email"]}
    assert credentials(messages[NEW_EMAIL])[0] == member.identifier
    assert fresh_me(client, member)["email"] == NEW_EMAIL


@pytest.mark.parametrize(
    ("extra", "missing"),
    [({"new_email": NEW_EMAIL}, "secret_answer"), ({"secret_answer": ANSWER}, "new_email")],
    ids=["email-without-answer", "answer-without-email"],
)
def test_new_email_and_secret_answer_come_both_or_neither(client, services, extra, missing):
    open_account_with_question(client, services)
    before = event_count(services)
    response = recover(client, **extra)
    assert_error(response, 422, "validation_error")
    assert set(response.json["errors"]) == {missing}
    assert event_count(services) == before
    assert inbox(services) == []


def test_the_secret_answer_is_in_neither_the_database_nor_the_logs(client, services, caplog):
    caplog.set_level(logging.DEBUG)
    open_account_with_question(client, services)
    recover(client, new_email=NEW_EMAIL, secret_answer="Réponse-Fausse Unique")
    recover(client, new_email=NEW_EMAIL, secret_answer=ANSWER_TYPED_OTHERWISE)
    inbox(services)
    dump = database_text(services)
    assert "RecoveryRequested" in dump  # the search finds what is there
    assert QUESTION not in dump  # personal data: sealed with the member's key
    logs = caplog.text
    for text in (dump, logs):
        lowered = text.lower()
        for secret in ("médor", "medor", "medorzephyrin", "réponse-fausse", "reponse-fausse"):
            assert secret not in lowered


# --- PUT /api/v1/me/secret-question ---------------------------------------------------------


def test_a_secret_question_is_set_with_the_password_and_its_answer_kept_only_as_a_hash(
    client, services, caplog
):
    caplog.set_level(logging.DEBUG)
    member = open_account(client, services)
    assert me(client, member)["secret_question"] is None
    response = client.put(
        "/api/v1/me/secret-question",
        json={
            "question": "Ma rue d'enfance ?", "answer": "Rue des Lilas", "password": OWN_PASSWORD
        },
        headers=member.headers,
    )
    assert response.status_code == 204
    assert me(client, member)["secret_question"] == "Ma rue d'enfance ?"
    dump = database_text(services)
    assert "SecretQuestionSet" in dump and "Ma rue d'enfance ?" not in dump  # sealed
    for text in (dump.lower(), caplog.text.lower()):
        assert "lilas" not in text
    recover(client, new_email=NEW_EMAIL, secret_answer="RUE DES LILAS")
    messages = {m["To"]: m for m in inbox(services)}
    assert set(messages) == {NEW_EMAIL, HELENE["email"]}
    assert credentials(messages[NEW_EMAIL])[0] == member.identifier


def test_a_wrong_password_does_not_set_the_secret_question(client, services):
    member = open_account(client, services)
    response = client.put(
        "/api/v1/me/secret-question",
        json={"question": QUESTION, "answer": ANSWER, "password": "pas le bon mot de passe"},
        headers=member.headers,
    )
    assert_error(response, 422, "validation_error")
    assert set(response.json["errors"]) == {"password"}
    assert me(client, member)["secret_question"] is None
    assert "SecretQuestionSet" not in event_types(services)


# --- POST /api/v1/me/email and /api/v1/email-verifications -----------------------------------


def test_an_email_change_is_made_with_the_code_sent_to_the_new_address(client, services):
    member = open_account(client, services)
    assert request_email_change(client, member).status_code == 202
    code = code_sent(services)
    assert me(client, member)["email"] == HELENE["email"]  # not before the code comes back
    response = verify(client, code)  # no session needed
    assert (response.status_code, response.json) == (200, {"email": NEW_EMAIL})
    view = me(client, member)
    assert view["email"] == NEW_EMAIL and view["identifier"] == member.identifier
    [notice] = inbox(services)
    assert notice["To"] == HELENE["email"] and "adresse e-mail" in notice["Subject"]
    # The identifier never changes and the e-mail never signs in.
    assert sign_in(client, member.identifier, OWN_PASSWORD).status_code == 201
    assert_error(sign_in(client, NEW_EMAIL, OWN_PASSWORD), 401, "invalid_credentials")


def test_a_verification_code_works_only_once(client, services):
    member = open_account(client, services)
    request_email_change(client, member)
    code = code_sent(services)
    assert verify(client, code).status_code == 200
    assert_error(verify(client, code), 404, "not_found")


def test_a_code_typed_in_lower_case_with_spaces_still_works(client, services):
    member = open_account(client, services)
    request_email_change(client, member)
    code = code_sent(services)
    typed = " ".join(code[i:i + 4] for i in range(0, 16, 4)).lower()
    response = verify(client, typed)
    assert (response.status_code, response.json) == (200, {"email": NEW_EMAIL})


def test_an_expired_code_is_not_found(client, services, clock):
    member = open_account(client, services)
    request_email_change(client, member)
    code = code_sent(services)
    clock.advance(hours=24, seconds=1)
    assert_error(verify(client, code), 404, "not_found")
    assert fresh_me(client, member)["email"] == HELENE["email"]


def test_a_newer_request_cancels_the_older_code(client, services):
    member = open_account(client, services)
    request_email_change(client, member, "premiere@example.org")
    older = code_sent(services, "premiere@example.org")
    request_email_change(client, member)
    newer = code_sent(services)
    assert_error(verify(client, older), 404, "not_found")
    assert verify(client, newer).json == {"email": NEW_EMAIL}


def test_an_unknown_code_is_not_found(client, services):
    open_account(client, services)
    assert_error(verify(client, "ABCDEFGHJKMNPQRS"), 404, "not_found")


@pytest.mark.parametrize("token", ["", "   "], ids=["empty", "blank"])
def test_an_empty_code_is_invalid(client, token):
    response = verify(client, token)
    assert_error(response, 422, "validation_error")
    assert set(response.json["errors"]) == {"token"}


def test_a_wrong_password_on_an_email_change_counts_toward_the_lockout(client, services):
    member = open_account(client, services)
    for _ in range(5):
        response = client.post(
            "/api/v1/me/email",
            json={"new_email": NEW_EMAIL, "password": "pas le bon mot de passe"},
            headers=member.headers,
        )
        assert_error(response, 422, "validation_error")
        assert set(response.json["errors"]) == {"password"}
    assert "EmailChangeRequested" not in event_types(services)
    assert_error(sign_in(client, member.identifier, OWN_PASSWORD), 401, "invalid_credentials")
    assert "AccountLocked" in event_types(services)


def test_the_verification_code_is_kept_only_as_a_digest(client, services, caplog):
    caplog.set_level(logging.DEBUG)
    member = open_account(client, services)
    request_email_change(client, member)
    code = code_sent(services)
    dump = database_text(services)
    assert hashlib.sha256(code.encode()).hexdigest() in dump
    assert code not in dump and code not in caplog.text
    verify(client, code)
    inbox(services)
    assert code not in database_text(services) and code not in caplog.text


# --- PUT /api/v1/me/alerts --------------------------------------------------------------------


def test_alerts_are_off_by_default_and_on_once_turned_on(client, services):
    member = open_account(client, services)
    assert me(client, member)["alerts"] == {"reimbursements": False}
    response = put_alerts(client, member, True)
    assert (response.status_code, response.json) == (200, {"reimbursements": True})
    assert me(client, member)["alerts"] == {"reimbursements": True}
    assert event_types(services).count("AlertsPreferenceChanged") == 1


def test_putting_the_same_alerts_value_again_records_nothing(client, services):
    member = open_account(client, services)
    put_alerts(client, member, True)
    before = event_count(services)
    response = put_alerts(client, member, True)
    assert (response.status_code, response.json) == (200, {"reimbursements": True})
    off = put_alerts(client, member, False)
    assert off.json == {"reimbursements": False}
    assert event_count(services) == before + 1


@pytest.mark.parametrize("value", [None, "maybe", [True], {"on": True}])
def test_a_non_boolean_alerts_value_is_invalid(client, services, value):
    member = open_account(client, services)
    before = event_count(services)
    response = put_alerts(client, member, value)
    assert_error(response, 422, "validation_error")
    assert set(response.json["errors"]) == {"reimbursements"}
    assert event_count(services) == before


# --- GET /api/v1/me ---------------------------------------------------------------------------


def test_me_shows_the_contract_fields_with_names_from_the_directory(client, services):
    member = open_account(client, services, last_name="DUPRE LEFEVRE", first_name="helene")
    view = me(client, member)
    assert set(view) == {
        "identifier", "email", "first_name", "last_name", "must_change_password", "sections",
        "beneficiaries", "alerts", "secret_question",
    }
    assert view["identifier"] == member.identifier
    assert view["email"] == HELENE["email"]
    assert (view["last_name"], view["first_name"]) == ("Dupré-Lefèvre", "Hélène")
    assert view["must_change_password"] is False
    assert sorted(view["sections"]) == ["health", "points_statement"]
    assert sorted(view["beneficiaries"], key=lambda b: b["first_name"]) == [
        {"first_name": "Jean-François", "last_name": "Dupré-Lefèvre", "relation": "spouse"},
        {"first_name": "Noël", "last_name": "Dupré-Lefèvre", "relation": "child"},
        {"first_name": "Zoé", "last_name": "Dupré-Lefèvre", "relation": "child"},
    ]
    assert view["alerts"] == {"reimbursements": False}
    assert view["secret_question"] is None


@pytest.mark.parametrize("value", ["true", "yes", "on", 1, 0, "false"])
def test_a_string_or_number_alerts_value_is_invalid(client, services, value):
    member = open_account(client, services)
    before = event_count(services)
    response = put_alerts(client, member, value)
    assert_error(response, 422, "validation_error")
    assert set(response.json["errors"]) == {"reimbursements"}
    assert event_count(services) == before
