"""CONTRACT.md, "Input hygiene": e-mail addresses, and the control and format characters of names,
questions and messages. Each refused form answers 422 on that field and records nothing.

Every test runs on SQLite and on PostgreSQL (the `client` and `services` fixtures).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from projections.support_queue import item_id
from tests.helpers import (
    OWN,
    bearer,
    credentials,
    event_types,
    mails,
    member_with_own_password,
    register,
    settle,
    sign_in,
)

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: what follows it is shown reversed
ZWJ, ZWNJ = "\u200d", "\u200c"
STRANGER = {"last_name": "Inconnu", "first_name": "Personne", "message": "Bonjour, aidez-moi."}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

BAD_EMAILS = [
    pytest.param('"x,evil@evil.example"@example.org', id="quoted-local-part"),
    pytest.param("helene@[127.0.0.1]", id="ipv4-literal"),
    pytest.param("helene@[IPv6:::1]", id="ipv6-literal"),
    pytest.param("helene@localhost", id="localhost"),
    pytest.param("helene@intranet", id="single-label-domain"),
    pytest.param("helene@poste.local", id="special-use-domain"),
    pytest.param("Hélène <helene@example.org>", id="display-name"),
    pytest.param(f"helene{RLO}@example.org", id="bidi-override-in-local-part"),
    pytest.param(f"helene@exa{RLO}mple.org", id="bidi-override-in-domain"),
    pytest.param("helene\u200b@example.org", id="zero-width-space"),
    pytest.param("hel\x00ene@example.org", id="nul"),
    pytest.param("hélène@example.org", id="non-ascii-local-part"),
]


@contextmanager
def nothing_recorded(services) -> Iterator[None]:
    sent = len(mails(services))  # runs the queued mail jobs first, and their events with them
    events = event_types(services)
    yield
    assert len(mails(services)) == sent, "an e-mail was sent"
    assert event_types(services) == events, "an event was recorded"


def assert_refused(response, field: str) -> None:
    """The contract's validation error, on that field alone, in French."""
    assert response.status_code == 422, response.get_data(as_text=True)
    body = response.json
    assert body["code"] == "validation_error" and body["message"]
    assert set(body["errors"]) == {field}, body
    [problem] = body["errors"][field]
    assert problem.strip()


def support(services) -> dict[str, str]:
    return bearer(services.staff_tokens.create("alice", "support"))


def in_review(client, services) -> str:
    response = register(client, first_name="Hélèna")  # a misspelt name waits for support
    assert response.json["status"] == "identity_review"
    settle(services)
    return response.json["registration_id"]


# E-mail addresses.


@pytest.mark.parametrize("email", BAD_EMAILS)
def test_a_registration_with_an_undeliverable_address_is_refused(client, services, email):
    with nothing_recorded(services):
        assert_refused(register(client, email=email), "email")


@pytest.mark.parametrize("email", BAD_EMAILS)
def test_an_email_change_to_an_undeliverable_address_is_refused(client, services, email):
    _, token = member_with_own_password(client, services)
    with nothing_recorded(services):
        response = client.post(
            "/api/v1/me/email", json={"new_email": email, "password": OWN}, headers=bearer(token)
        )
        assert_refused(response, "new_email")


@pytest.mark.parametrize("field", ["email", "new_email"])
@pytest.mark.parametrize("email", BAD_EMAILS[:4])
def test_a_support_request_with_an_undeliverable_address_is_refused(
    client, services, field, email
):
    body = {"kind": "email_update", **STRANGER, field: email}
    with nothing_recorded(services):
        assert_refused(client.post("/api/v1/support-requests", json=body), field)


def test_a_non_ascii_mailbox_is_refused_with_a_french_reason(client, services):
    response = register(client, email="hélène@example.org")
    assert_refused(response, "email")
    assert "avant le @" in response.json["errors"]["email"][0]


def test_an_internationalised_domain_is_stored_and_sent_as_idna(client, services):
    response = register(client, email="helene@café.fr")
    assert response.status_code == 201 and response.json["status"] == "accepted"
    [message] = mails(services)
    assert message["To"] == "helene@xn--caf-dma.fr"
    identifier, temporary = credentials(message)
    token = sign_in(client, identifier, temporary).json["token"]
    assert client.get("/api/v1/me", headers=bearer(token)).json["email"] == "helene@xn--caf-dma.fr"


def test_the_domain_is_lower_cased_and_the_mailbox_kept_as_typed(client, services):
    assert register(client, email="Helene.Dupre@Exemple.FR").json["status"] == "accepted"
    [message] = mails(services)
    assert message["To"] == "Helene.Dupre@exemple.fr"


def test_an_ascii_domain_is_sent_unchanged(client, services):
    assert register(client, email="jean@exemple.fr").json["status"] == "accepted"
    assert [m["To"] for m in mails(services)] == ["jean@exemple.fr"]


def test_an_email_change_to_an_internationalised_domain_sends_the_code_to_idna(client, services):
    _, token = member_with_own_password(client, services)
    sent = len(mails(services))
    response = client.post(
        "/api/v1/me/email", json={"new_email": "helene@café.fr", "password": OWN},
        headers=bearer(token),
    )
    assert response.status_code == 202, response.json
    [code] = mails(services)[sent:]
    assert code["To"] == "helene@xn--caf-dma.fr"


# Names, questions and messages.

BAD_TEXT = [
    pytest.param(f"Hélène{RLO}", id="bidi-override"),
    pytest.param("Hél\u2066ène\u2069", id="bidi-isolate"),
    pytest.param("Hélène\u200b", id="zero-width-space"),
    pytest.param("Hé\u00adlène", id="soft-hyphen"),
    pytest.param("\ufeffHélène", id="byte-order-mark"),
    pytest.param("Hélène\u2028", id="line-separator"),
    pytest.param("Hélène\x07", id="bell"),
    pytest.param(f"Hélène{ZWJ}", id="joiner-at-the-end"),
    pytest.param(f"{ZWNJ}Hélène", id="joiner-at-the-start"),
    pytest.param(f"Hél{ZWJ}{ZWJ}ène", id="joiner-doubled"),
    pytest.param(f"Hél{ZWNJ}{ZWJ}ène", id="two-joiners"),
    pytest.param(f"Marie {ZWJ}Hélène", id="joiner-after-a-space"),
]


@pytest.mark.parametrize("text", BAD_TEXT)
@pytest.mark.parametrize("field", ["last_name", "first_name"])
def test_a_registration_with_a_control_or_format_character_in_a_name_is_refused(
    client, services, field, text
):
    with nothing_recorded(services):
        assert_refused(register(client, **{field: text}), field)


@pytest.mark.parametrize("text", BAD_TEXT[:3])
def test_a_secret_question_with_a_format_character_is_refused(client, services, text):
    with nothing_recorded(services):
        response = register(client, secret_question=f"{text} ?", secret_answer="Médor")
        assert_refused(response, "secret_question")
    _, token = member_with_own_password(client, services)
    with nothing_recorded(services):
        response = client.put(
            "/api/v1/me/secret-question",
            json={"question": f"{text} ?", "answer": "Médor", "password": OWN},
            headers=bearer(token),
        )
        assert_refused(response, "question")


@pytest.mark.parametrize(
    "name",
    [
        # Persian writes a ZWNJ between the parts of a compound surname (Alizadeh).
        pytest.param({"last_name": f"علی{ZWNJ}زاده"}, id="persian-zwnj"),
        # A ZWJ after a virama asks for the half form of a Devanagari conjunct (Kshitij).
        pytest.param({"first_name": f"क्{ZWJ}षितिज"}, id="devanagari-zwj-after-virama"),
    ],
)
def test_a_single_joiner_inside_a_word_of_a_name_is_accepted(client, name):
    response = register(client, **name)
    assert response.status_code == 201, response.json  # the names differ: support reviews it


@pytest.mark.parametrize("field", ["last_name", "first_name", "message"])
@pytest.mark.parametrize("text", BAD_TEXT[:2] + BAD_TEXT[-3:-1])
def test_a_support_request_with_a_format_character_is_refused(client, services, field, text):
    body = {"kind": "other", **STRANGER, field: text}
    with nothing_recorded(services):
        assert_refused(client.post("/api/v1/support-requests", json=body), field)


@pytest.mark.parametrize("text", BAD_TEXT[:3])
def test_a_registration_decision_with_a_format_character_in_the_note_is_refused(
    client, services, text
):
    registration_id = in_review(client, services)
    with nothing_recorded(services):
        response = client.post(
            f"/api/v1/support/registrations/{registration_id}/decision",
            json={"decision": "approve", "note": f"Vu au téléphone {text}"},
            headers=support(services),
        )
        assert_refused(response, "note")


@pytest.mark.parametrize(
    ("extra", "field"),
    [({"note": f"Fait{RLO}"}, "note"), ({"new_email": "helene@localhost"}, "new_email")],
    ids=["note", "new_email"],
)
def test_a_request_decision_with_a_bad_note_or_address_is_refused(client, services, extra, field):
    response = client.post("/api/v1/support-requests", json={"kind": "email_update", **STRANGER})
    assert response.status_code == 202, response.json
    request_id = response.json["request_id"]
    with nothing_recorded(services):
        response = client.post(
            f"/api/v1/support/requests/{request_id}/decision",
            json={"decision": "accept", **extra}, headers=support(services),
        )
        assert_refused(response, field)


# The console's decision form.


@pytest.mark.parametrize("text", BAD_TEXT[:3])
def test_a_console_decision_with_a_format_character_in_the_note_is_refused(
    client, services, text
):
    registration_id = in_review(client, services)
    token = services.staff_tokens.create("Camille Martin", "support")
    page = client.get("/support/")
    client.post("/support/", data={"token": token, "csrf_token": _csrf(page)})
    detail = client.get(f"/support/items/{item_id('identity_review', registration_id)}")
    with nothing_recorded(services):
        response = client.post(
            f"/support/registrations/{registration_id}/decision",
            data={"decision": "approve", "note": f"Vu {text}", "csrf_token": _csrf(detail)},
        )
        assert response.status_code == 422
        assert "caractères de contrôle" in html.unescape(response.get_data(as_text=True))
    status = client.get(f"/api/v1/registrations/{registration_id}").json
    assert status["status"] == "identity_review"


def _csrf(page) -> str:
    return CSRF.search(page.get_data(as_text=True)).group(1)


def test_the_well_formed_forms_are_still_accepted_so_the_checks_can_fail(client, services):
    with pytest.raises(AssertionError, match="an e-mail was sent"), nothing_recorded(services):
        assert register(client).status_code == 201
