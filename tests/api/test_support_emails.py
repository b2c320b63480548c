"""Issue 18, the requester's side, on SQLite and PostgreSQL: a support request is acknowledged
by e-mail with a reference to quote, and the decision comes back by e-mail with the agent's
reply wherever nothing else tells the requester; once each, through the outbox and the mail
actors, retried while the mail server refuses. The reply is the requester's personal data:
sealed in the events, erased with the member (CONTRACT.md: POST /api/v1/support-requests,
"Support", "E-mails", "Erasure", "Input hygiene")."""

from __future__ import annotations

from email import message_from_bytes, policy
from uuid import UUID

import pytest
from eventsourcing.application import Repository

from adapters.http.schemas import CONTROL_CHARACTERS
from domain.personal_data import ERASED
from domain.support_request import support_reference
from tests.api.page_browser import Browser, text
from tests.helpers import (
    DEMO_CSV,
    EMAIL,
    MEMBER,
    OWN,
    bearer,
    both_parts,
    database_text,
    drain,
    event_types,
    free_port,
    inbox,
    make_settings,
    member_with_own_password,
    recorded,
    register_member,
    text_of,
    urls_of,
    wait_for,
    words,
)

PORTAL = "http://localhost:5000"  # ACCOUNTS_PORTAL_URL's default
REQUESTER = {"last_name": "Martin", "first_name": "Louise", "email": "louise.m@example.org"}
MESSAGE = "Je ne reçois pas l'e-mail de mes codes d'accès depuis mon inscription."
REPLY = "Votre inscription date d'avant votre adhésion : recommencez-la dès aujourd'hui."
NOTE = "Vu avec le service adhésion."
ACKNOWLEDGED = "Votre demande au support technique (référence {})"
ANSWERED = "Réponse du support technique à votre demande (référence {})"
RLO = "\u202e"


def support(services, name: str = "alice") -> dict[str, str]:
    return bearer(services.staff_tokens.create(name, "support"))


def submitted(client, kind: str = "other", **fields: str | None) -> str:
    """A request as the API takes it; a field given as None is left out."""
    body = {"kind": kind, **REQUESTER, "message": MESSAGE, **fields}
    response = client.post(
        "/api/v1/support-requests", json={k: v for k, v in body.items() if v is not None}
    )
    assert response.status_code == 202, response.json
    return response.json["request_id"]


def decide(client, services, request_id: str, decision: str, **extra):
    return client.post(
        f"/api/v1/support/requests/{request_id}/decision",
        json={"decision": decision, "note": NOTE, **extra}, headers=support(services),
    )


def outcomes(services, request_id: str) -> list[tuple[int, str]]:
    return [(e.about_version, e.outcome) for e in recorded(services, "SupportEmailSent")
            if str(e.originator_id) == request_id]


def assert_reads_as_sent(message, subject: str, reference: str) -> None:
    """What every e-mail to a requester shows: its subject, the reference in both parts,
    the way back to support, and nothing a link should not carry."""
    assert message["Subject"] == subject
    assert message.get_content_type() == "multipart/alternative"
    plain, html = both_parts(message)
    assert plain == html
    assert f"Référence de votre demande : {reference}" in plain
    assert set(urls_of(message)) >= {f"{PORTAL}/contact"}
    assert all(u.startswith(PORTAL + "/") for u in urls_of(message))


# The acknowledgement.


def test_a_request_through_the_api_is_acknowledged_once_at_the_address_given(client, services):
    request_id = submitted(client)
    reference = support_reference(request_id)
    [message] = inbox(services)
    assert message["To"] == REQUESTER["email"]
    assert_reads_as_sent(message, ACKNOWLEDGED.format(reference), reference)
    said = words(text_of(message))
    assert "Nous avons bien reçu votre demande au support technique" in said
    assert "vous répondra par e-mail" in said
    # Only the reference: not the message, names or anything else the form held.
    for theirs in (MESSAGE, REQUESTER["last_name"], REQUESTER["first_name"]):
        assert theirs not in said
    assert outcomes(services, request_id) == [(1, "sent")]
    services.actors.deliver_support_email(request_id, 1)  # a copy of the message, run again
    assert inbox(services) == []
    assert outcomes(services, request_id) == [(1, "sent")]


def test_a_request_from_the_contact_page_is_acknowledged_with_the_reference_it_shows(
    client, services
):
    browser = Browser(client)
    page = browser.post("/contact", kind="other", message=MESSAGE, **REQUESTER)
    assert page.status_code == 200, text(page)[:300]
    [submitted] = recorded(services, "SupportRequestSubmitted")
    reference = support_reference(submitted.originator_id)
    assert f"<code>{reference}</code>" in text(page)
    [message] = inbox(services)
    assert message["To"] == REQUESTER["email"]
    assert_reads_as_sent(message, ACKNOWLEDGED.format(reference), reference)


def test_without_an_address_the_acknowledgement_goes_to_the_linked_account(client, services):
    identifier, _ = register_member(client, services)
    inbox(services)
    request_id = submitted(client, identifier=identifier, email=None)
    [message] = inbox(services)
    assert message["To"] == EMAIL
    assert support_reference(request_id) in message["Subject"]


def test_an_email_update_is_acknowledged_at_the_new_address_it_asks_for(client, services):
    submitted(client, "email_update", new_email="louise.neuve@example.org")
    [message] = inbox(services)
    assert message["To"] == "louise.neuve@example.org"
    assert "avant de modifier votre adresse" in words(text_of(message))


def test_a_request_nobody_can_be_e_mailed_at_is_recorded_without_any_e_mail(client, services):
    request_id = submitted(client, email=None)
    assert inbox(services) == []
    assert outcomes(services, request_id) == []


# The decision.


@pytest.mark.parametrize(("decision", "words_of_it"), [
    ("accept", "a traité votre demande"), ("reject", "n'a pas pu y donner suite"),
])
def test_a_decision_on_another_request_comes_back_with_the_reply(
    client, services, decision, words_of_it
):
    request_id = submitted(client)
    inbox(services)
    response = decide(client, services, request_id, decision, reply=REPLY)
    assert response.status_code == 200, response.json
    reference = support_reference(request_id)
    assert (response.json["reply"], response.json["reference"]) == (REPLY, reference)
    [message] = inbox(services)
    assert message["To"] == REQUESTER["email"]
    assert_reads_as_sent(message, ANSWERED.format(reference), reference)
    said = words(text_of(message))
    assert words_of_it in said
    assert "Réponse du conseiller\u00a0: " + REPLY.replace(" :", "\u00a0:") in said
    assert NOTE not in said  # the agent's note is for support only
    assert outcomes(services, request_id) == [(1, "sent"), (3, "sent")]


def test_an_accepted_email_update_sends_credentials_and_the_notice_but_no_decision(
    client, services
):
    identifier, _ = register_member(client, services)
    request_id = submitted(client, "email_update", identifier=identifier, email=EMAIL,
                           new_email="louise.neuve@example.org")
    inbox(services)  # the acknowledgement
    assert decide(client, services, request_id, "accept").status_code == 200
    sent = inbox(services)
    assert sorted(m["Subject"] for m in sent) == sorted([
        "Vos codes d'accès à l'Espace Client",
        "L'adresse e-mail de votre compte de l'Espace Client a été modifiée",
    ])
    assert [v for v, _ in outcomes(services, request_id)] == [1]


def test_a_reply_to_an_accepted_email_update_is_e_mailed_beside_the_credentials(
    client, services
):
    identifier, _ = register_member(client, services)
    request_id = submitted(client, "email_update", identifier=identifier,
                           new_email="louise.neuve@example.org")
    inbox(services)
    assert decide(client, services, request_id, "accept", reply=REPLY).status_code == 200
    [answer] = [m for m in inbox(services) if m["Subject"].startswith("Réponse")]
    assert answer["To"] == "louise.neuve@example.org"
    assert "dans un message séparé" in words(text_of(answer))


def test_a_refused_email_update_tells_the_requester_at_the_new_address(client, services):
    identifier, _ = register_member(client, services)
    request_id = submitted(client, "email_update", identifier=identifier,
                           new_email="louise.neuve@example.org")
    inbox(services)
    assert decide(client, services, request_id, "reject").status_code == 200
    [message] = inbox(services)
    assert message["To"] == "louise.neuve@example.org"
    assert "n'a pas été modifiée" in words(text_of(message))
    assert f"{PORTAL}/codes-oublies" in urls_of(message)


def test_an_accepted_closure_is_told_once_by_its_notice(client, services):
    identifier, _ = member_with_own_password(client, services)
    request_id = submitted(client, "closure", identifier=identifier, email=EMAIL,
                           last_name=MEMBER["last_name"], first_name=MEMBER["first_name"])
    inbox(services)
    assert decide(client, services, request_id, "accept").status_code == 200
    [notice] = inbox(services)
    assert notice["Subject"] == "Votre compte de l'Espace Client est clôturé"
    assert [v for v, _ in outcomes(services, request_id)] == [1]


def test_a_refused_closure_asked_in_the_member_s_space_is_e_mailed_to_the_member(
    client, services
):
    _, token = member_with_own_password(client, services)
    inbox(services)  # the password's notice
    asked = client.post("/api/v1/me/closure", json={"password": OWN}, headers=bearer(token))
    assert asked.status_code == 202, asked.json
    assert inbox(services) == []  # the page or the answer confirmed it: no acknowledgement
    request_id = asked.json["request_id"]
    assert decide(client, services, request_id, "reject", reply=REPLY).status_code == 200
    [message] = inbox(services)
    assert message["To"] == EMAIL
    assert "votre compte de l'Espace Client reste ouvert" in words(text_of(message))


# The reply as the API takes it.


@pytest.mark.parametrize(("reply", "error"), [
    pytest.param(f"Réglé{RLO}", CONTROL_CHARACTERS, id="bidi-override"),
    pytest.param("Réglé\x00", CONTROL_CHARACTERS, id="nul"),
    pytest.param("Réglé.\nÀ bientôt", CONTROL_CHARACTERS, id="line-feed"),
    pytest.param("x" * 2001, "Entre 1 et 2000 caractères.", id="too-long"),
    pytest.param("   ", "Champ obligatoire.", id="blank"),
    pytest.param(12, "Une chaîne de caractères est attendue.", id="not-a-string"),
])
def test_a_bad_reply_is_refused_and_records_nothing(client, services, reply, error):
    request_id = submitted(client)
    inbox(services)
    before = event_types(services)
    response = decide(client, services, request_id, "reject", reply=reply)
    assert response.status_code == 422, response.json
    assert response.json["code"] == "validation_error"
    assert response.json["errors"] == {"reply": [error]}
    assert inbox(services) == [] and event_types(services) == before


def test_a_reply_of_2000_characters_or_null_is_taken(client, services):
    longest, without = submitted(client), submitted(client)
    inbox(services)
    assert decide(client, services, longest, "reject", reply="é" * 2000).status_code == 200
    response = decide(client, services, without, "reject", reply=None)
    assert response.status_code == 200 and response.json["reply"] is None
    assert len(inbox(services)) == 2


def test_a_reply_to_an_accepted_closure_is_refused_and_closes_nothing(client, services):
    identifier, token = member_with_own_password(client, services)
    request_id = submitted(client, "closure", identifier=identifier)
    inbox(services)
    before = event_types(services)
    response = decide(client, services, request_id, "accept", reply=REPLY)
    assert response.status_code == 422, response.json
    assert list(response.json["errors"]) == ["reply"]
    assert event_types(services) == before and inbox(services) == []
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200


def test_the_document_describes_the_reply_and_the_reference(client):
    document = client.get("/api/v1/openapi.json").json
    schemas = document["components"]["schemas"]
    decision = document["paths"]["/api/v1/support/requests/{request_id}/decision"]["post"]
    body = decision["requestBody"]["content"]["application/json"]
    reply = schemas[body["schema"]["$ref"].rpartition("/")[2]]["properties"]["reply"]
    assert reply["maxLength"] == 2000 and reply["minLength"] == 1 and reply["nullable"] is True
    assert "reply" in body["example"]
    answer = decision["responses"]["200"]["content"]["application/json"]
    assert {"reply", "reference"} <= set(answer["example"])
    assert "reply" in decision["responses"]["422"]["description"]


# The reply as personal data.


def test_the_reply_is_stored_sealed_and_read_back_in_clear(client, services):
    request_id = submitted(client)
    assert decide(client, services, request_id, "reject", reply=REPLY).status_code == 200
    drain(services)
    [decided] = recorded(services, "SupportRequestRejected")
    assert decided.reply == REPLY  # opened with the request's key
    table = services.lifecycle.recorder.events_table_name
    raw = b"".join(bytes(row["state"]) for row in services.database.run(
        f"SELECT state FROM {table}"
    ))
    assert b'"reply"' in raw  # the field is there...
    for form in (REPLY.encode(), REPLY.encode("unicode_escape"), b"recommencez-la"):
        assert form not in raw  # ...its words are not
    assert "recommencez-la" not in database_text(services)


def test_an_erased_member_s_replies_are_erased_with_them(client, services):
    identifier, token = member_with_own_password(client, services)
    asked = submitted(client, identifier=identifier, email=EMAIL)
    assert decide(client, services, asked, "reject", reply=REPLY).status_code == 200
    drain(services)
    [before] = recorded(services, "SupportRequestRejected")
    assert before.reply == REPLY
    closure = client.post("/api/v1/me/closure", json={"password": OWN}, headers=bearer(token))
    assert decide(client, services, closure.json["request_id"], "accept").status_code == 200
    drain(services)
    [after] = recorded(services, "SupportRequestRejected")
    assert after.reply == ERASED and after.note == ERASED
    replayed = Repository(event_store=services.lifecycle.events).get(before.originator_id)
    assert (replayed.reply, replayed.message, replayed.reply_to) == (ERASED, ERASED, ERASED)
    history = client.get(
        f"/api/v1/audit/accounts/{identifier}/events",
        headers=bearer(services.staff_tokens.create("audra", "auditor")),
    ).json["events"]
    [shown] = [e for e in history if e["type"] == "SupportRequestRejected"]
    assert shown["data"]["reply"] == ERASED


def test_an_erased_member_s_request_held_by_the_process_reads_erased_too(client, services):
    identifier, token = member_with_own_password(client, services)
    asked = submitted(client, identifier=identifier, email=EMAIL)
    assert decide(client, services, asked, "reject", reply=REPLY).status_code == 200
    closure = client.post("/api/v1/me/closure", json={"password": OWN}, headers=bearer(token))
    assert decide(client, services, closure.json["request_id"], "accept").status_code == 200
    drain(services)
    held = services.use_cases.support.get_support_request(UUID(asked))
    assert held.reply == ERASED


def test_a_decision_e_mail_run_after_the_erasure_goes_to_nobody(
    client, services, monkeypatch
):
    identifier, token = member_with_own_password(client, services)
    asked = submitted(client, identifier=identifier, email=EMAIL)
    inbox(services)
    held = services.use_cases.support.get_support_request(UUID(asked))  # the process keeps it
    lost = []
    monkeypatch.setattr(services.outbox, "enqueue_mail", lambda *args, **kw: lost.append(args))
    assert decide(client, services, asked, "reject", reply=REPLY).status_code == 200
    closure = client.post("/api/v1/me/closure", json={"password": OWN}, headers=bearer(token))
    assert decide(client, services, closure.json["request_id"], "accept").status_code == 200
    assert ("support_decision", asked, 3) in lost
    assert held.reply_to == EMAIL
    services.actors.deliver_support_email(asked, 3)  # the lost message, enqueued again
    assert inbox(services) == []
    assert outcomes(services, asked)[-1] == (3, "no_recipient")


# The mail server refuses, then accepts.


class RefusingFirst:
    """aiosmtpd handler: a temporary refusal (451) of the first message, then acceptance."""

    def __init__(self) -> None:
        self.refused = 0
        self.accepted: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls it so
        if not self.refused:
            self.refused += 1
            return "451 Try again later"
        self.accepted.append(bytes(envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def refusing_smtp(tmp_path, database_url, clock):
    from aiosmtpd.controller import Controller

    from app import create_app

    port = free_port()
    handler = RefusingFirst()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings = make_settings(tmp_path, database_url, ACCOUNTS_MAIL_URL=f"smtp://127.0.0.1:{port}")
    flask_app = create_app(settings, clock=clock)
    services = flask_app.extensions["accounts"]
    services.directory.import_csv(DEMO_CSV.read_text(encoding="utf-8"))
    yield flask_app.test_client(), services, handler
    services.close()
    controller.stop()


def test_an_acknowledgement_the_server_refuses_is_retried_and_sent_once(refusing_smtp):
    client, services, handler = refusing_smtp
    request_id = submitted(client)
    wait_for(lambda: handler.refused == 1, 10, "the refusal")
    assert handler.accepted == [] and outcomes(services, request_id) == []
    # dramatiq's retry, after its 5 to 10 s backoff, as every e-mail's.
    wait_for(lambda: outcomes(services, request_id), 60, "the retried delivery")
    assert outcomes(services, request_id) == [(1, "sent")]
    [content] = handler.accepted
    message = message_from_bytes(content, policy=policy.default)
    assert message["Subject"] == ACKNOWLEDGED.format(support_reference(request_id))
