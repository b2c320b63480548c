"""The export of a member's data (CONTRACT.md, "Members in control"; GDPR art. 15 and 20):
what the document holds, as an attachment, with no secret anywhere in it; the member's own
export and support's, each recorded with who asked."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.api.console_pages import post_form, sign_in
from tests.helpers import (
    ANSWER,
    FEED,
    LABEL,
    OWN,
    assert_error,
    bearer,
    feed_item,
    recorded,
    settle,
    story,
)

EXPORT = "/api/v1/me/export"
SECRET_FIELD = re.compile(r"hash|digest|token|password|answer|code", re.I)
FORBIDDEN_KEY = re.compile(r"hash|token|digest|answer", re.I)


def walk(value: Any, path: str = "$"):
    """(path, key or None, value) for every key and every scalar of a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path, key, None
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from walk(item, f"{path}[{n}]")
    else:
        yield path, None, value


def account_secrets(services, identifier: str) -> set[str]:
    """Every secret value the account's history and sessions hold: hashes of passwords and
    of the secret answer, digests of codes, the session digests."""
    account = services.lifecycle.account_by_identifier(identifier)
    found = set()
    for event in services.lifecycle.events.get(account.id):
        for field, value in vars(event).items():
            if SECRET_FIELD.search(field) and isinstance(value, str) and value:
                found.add(value)
    found |= {r["token_digest"] for r in services.database.run(
        "SELECT token_digest FROM member_sessions")}
    return found


def a_member_with_a_history(client, services, clock) -> dict[str, str]:
    member = story(client, services, clock)  # review, password, e-mail change with a code
    claims = bearer(services.staff_tokens.create("flux-sante", "claims"))
    assert client.post(FEED, json=feed_item(), headers=claims).status_code == 202
    assert client.post("/api/v1/sessions", json={
        "identifier": member["identifier"], "password": "Pas le bon mot de passe 42"
    }).status_code == 401
    settle(services)
    return member


def test_the_member_downloads_their_data_as_an_attachment(client, services, clock):
    member = a_member_with_a_history(client, services, clock)

    response = client.get(EXPORT, headers=bearer(member["token"]))

    assert response.status_code == 200, response.json
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="mes-donnees-{member["identifier"]}.json"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    data = response.json
    assert list(data) == ["exported_at", "account", "history", "sessions", "passkeys",
                          "reimbursements", "preferences"]
    account = data["account"]
    assert account["identifier"] == member["identifier"]
    assert (account["status"], account["email"], account["member_number"]) == (
        "open", "neuve@example.org", "M1000001")
    assert (account["first_name"], account["last_name"]) == ("Hélène", "Dupré-Lefèvre")
    assert "health" in account["sections"]
    assert account["secret_question"] == "Chien ?"
    assert account["must_change_password"] is False and account["last_sign_in_at"]
    events = [e["event"] for e in data["history"]]
    assert {"Compte ouvert", "Mot de passe modifié", "Adresse e-mail modifiée",
            "Remboursement reçu", "Mot de passe erroné"} <= set(events)
    assert {e["actor"] for e in data["history"]} >= {
        f"Membre {member['identifier']}", "Support (alice)"}
    assert [s["current"] for s in data["sessions"]] == [True]
    assert data["passkeys"] == []
    [paid] = data["reimbursements"]
    assert (paid["label"], paid["contract_id"], paid["amount"]) == (
        LABEL, "SANTE-IND-001", "25.40")
    assert data["preferences"] == {"alerts": {"reimbursements": False}}


def test_no_secret_of_the_account_is_anywhere_in_the_document(client, services, clock):
    member = a_member_with_a_history(client, services, clock)
    body = client.get(EXPORT, headers=bearer(member["token"])).get_data(as_text=True)
    data = json.loads(body)

    secrets = account_secrets(services, member["identifier"]) | {
        member["temporary"], member["token"], member["code"], ANSWER, OWN,
    }
    assert len(secrets) > 8  # the sweep has something to look for
    found = [
        (path, value) for path, key, value in walk(data) if key is None and value is not None
        for secret in secrets if secret.casefold() in str(value).casefold()
    ]
    assert found == []
    assert [(path, key) for path, key, _ in walk(data) if key and FORBIDDEN_KEY.search(key)] == []
    assert all(secret.casefold() not in body.casefold() for secret in secrets)


def test_each_export_is_recorded_with_the_member_as_actor(client, services, clock):
    member = a_member_with_a_history(client, services, clock)
    assert client.get(EXPORT, headers=bearer(member["token"])).status_code == 200
    [event] = recorded(services, "PersonalDataExported")
    assert event.actor == f"member:{member['identifier']}"


def test_support_exports_a_members_data_from_the_console_and_it_is_recorded(
    client, services, clock
):
    member = a_member_with_a_history(client, services, clock)
    agent = client.application.test_client()
    sign_in(agent, services.staff_tokens.create("Camille", "support"))
    page = f"/support/accounts/{member['identifier']}"
    assert "Exporter les données" in agent.get(page).get_data(as_text=True)

    response = post_form(agent, f"{page}/export", page)

    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="mes-donnees-{member["identifier"]}.json"'
    )
    assert response.json["account"]["identifier"] == member["identifier"]
    assert [s["current"] for s in response.json["sessions"]] == [False]
    [event] = recorded(services, "PersonalDataExported")
    assert event.actor == "support:Camille"


def test_the_console_export_needs_a_csrf_token_and_a_support_agent(client, services, clock):
    member = a_member_with_a_history(client, services, clock)
    agent = client.application.test_client()
    sign_in(agent, services.staff_tokens.create("Camille", "support"))
    path = f"/support/accounts/{member['identifier']}/export"
    assert agent.post(path, data={}).status_code == 400
    assert client.application.test_client().post(path).status_code in (302, 303, 400)
    assert recorded(services, "PersonalDataExported") == []


def test_no_session_no_export(client):
    assert_error(client.get(EXPORT), 401, "authentication_required")
    assert_error(client.get(EXPORT, headers=bearer("x" * 43)), 401, "authentication_required")
