"""Erasure that unlinks (CONTRACT.md v1.1, "Erasure"), on SQLite and PostgreSQL.

Twenty members register, ask for support by member number, set their own password and close
their account. Afterwards no raw table, no audit answer, no page of the global feed and no log
line holds their member number or anything computed from it alone (a uuid3/uuid5 in any usual
namespace, an unkeyed digest in hex or base64), nor the keyed lookup the service used while the
accounts were open. One of them registers again: the new account shares no value with the
closed one but public constants.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from uuid import NAMESPACE_DNS, NAMESPACE_OID, NAMESPACE_URL, NAMESPACE_X500, uuid3, uuid5

import pytest

from domain.indexes import NAMESPACE
from tests.helpers import (
    OWN,
    bearer,
    change_password,
    credentials,
    database_text,
    directory_csv,
    generated_members,
    mails,
    settle,
    sign_in,
    text_of,
)

CLOSED = generated_members(20, "E")
KEPT = generated_members(1, "K")
DIRECTORY_TABLES = frozenset({"directory_members", "directory_coverages"})
DIGESTS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512", "blake2b", "blake2s",
           "sha3_256")
NAMESPACES = (NAMESPACE, NAMESPACE_URL, NAMESPACE_DNS, NAMESPACE_OID, NAMESPACE_X500)


def derived(member_number: str) -> set[str]:
    """What a key derived from the member number alone can look like, as stored or shown."""
    found = {member_number}
    for text in (member_number, member_number.lower(), f"member:{member_number}"):
        for name in DIGESTS:
            digest = hashlib.new(name, text.encode()).digest()
            found |= {
                digest.hex(), base64.b64encode(digest).decode(),
                base64.urlsafe_b64encode(digest).decode().rstrip("="),
            }
        for namespace in NAMESPACES:
            for make in (uuid3, uuid5):
                made = make(namespace, text)
                found |= {str(made), made.hex}
    return found


def person(member: tuple) -> dict[str, str]:
    number, last, first, born = member
    return {"member_number": number, "last_name": last, "first_name": first,
            "birth_date": born.isoformat(), "email": f"{number.lower()}@example.org"}


def open_and_close(client, services, member: tuple) -> str:
    """Registers, asks support something by member number, sets a password, closes: the
    closed account's identifier."""
    details = person(member)
    assert client.post("/api/v1/registrations", json=details).json["status"] == "accepted"
    [welcome] = [m for m in mails(services) if m["To"] == details["email"]]
    identifier, temporary = credentials(welcome)
    asked = client.post("/api/v1/support-requests", json={
        "kind": "other", "last_name": details["last_name"], "first_name": details["first_name"],
        "member_number": details["member_number"], "email": details["email"],
        "message": "Où trouver mon relevé de points ?",
    })
    assert asked.status_code == 202, asked.json
    token = sign_in(client, identifier, temporary).json["token"]
    assert change_password(client, token, temporary, OWN).status_code == 204
    closure = client.post("/api/v1/me/closure", json={"password": OWN}, headers=bearer(token))
    assert closure.status_code == 202, closure.json
    support = bearer(services.staff_tokens.create(f"agent-{identifier}", "support"))
    decided = client.post(
        f"/api/v1/support/requests/{closure.json['request_id']}/decision",
        json={"decision": "accept", "note": "Clôture confirmée."}, headers=support,
    )
    assert decided.status_code == 200, decided.json
    return identifier


def served(client, services, identifiers: list[str]) -> str:
    """What the audit API answers about the closed accounts, and every page of the feed."""
    auditor = bearer(services.staff_tokens.create("audra", "auditor"))
    answers: list[Any] = []
    for identifier in identifiers:
        for view, query in (("events", {}), ("state", {"at": services.clock().isoformat()})):
            response = client.get(
                f"/api/v1/audit/accounts/{identifier}/{view}", query_string=query,
                headers=auditor,
            )
            assert response.status_code == 200, response.json
            answers.append(response.json)
    after = 0
    while True:
        page = client.get(
            "/api/v1/audit/events", query_string={"after": after, "limit": 1000}, headers=auditor
        ).json
        answers.append(page)
        if not page["events"]:
            break
        after = page["next_after"]
    return json.dumps(answers, ensure_ascii=False)


@pytest.fixture
def closed(client, services, json_log) -> dict[str, Any]:
    services.directory.import_csv(directory_csv(CLOSED + KEPT))
    kept = person(KEPT[0])
    assert client.post("/api/v1/registrations", json=kept).json["status"] == "accepted"
    assert client.post("/api/v1/support-requests", json={
        "kind": "other", "last_name": kept["last_name"], "first_name": kept["first_name"],
        "member_number": kept["member_number"], "email": kept["email"], "message": "Bonjour",
    }).status_code == 202
    identifiers = [open_and_close(client, services, member) for member in CLOSED]
    mails(services)
    settle(services)
    return {"identifiers": identifiers, "log": json_log}


def test_nothing_stored_or_served_leads_back_to_an_erased_member_number(
    client, services, closed
):
    keys = services.use_cases.closure.subjects
    texts = {
        "tables": database_text(services, leave_out=DIRECTORY_TABLES),
        "audit API and feed": served(client, services, closed["identifiers"]),
        "log": closed["log"].getvalue(),
    }
    leads = [
        (number, where)
        for number, *_ in CLOSED
        for value in derived(number) | {keys.lookup(number)}
        for where, text in texts.items()
        if value in text
    ]
    assert leads == []
    assert all(keys.find(number) is None for number, *_ in CLOSED)
    # The search can find something: the member who stays open is found by it (their support
    # request shows their number to the agents, the lookup finds their subject).
    kept = KEPT[0][0]
    assert kept in texts["tables"] and keys.lookup(kept) in texts["tables"]
    assert keys.find(kept) is not None


def leaves(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(leaves(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(leaves(v) for v in value)) if value else set()
    return {json.dumps(value, ensure_ascii=False)}


def test_registering_again_after_closure_shares_nothing_with_the_closed_account(
    client, services, clock, closed
):
    clock.advance(minutes=30)  # instants are not what is compared
    again = person(CLOSED[0])
    registered = client.post("/api/v1/registrations", json=again)
    assert registered.json["status"] == "accepted", registered.json
    welcome = [m for m in mails(services) if "Mot de passe temporaire" in text_of(m)][-1]
    identifier, _ = credentials(welcome)
    settle(services)
    auditor = bearer(services.staff_tokens.create("audra", "auditor"))
    old, new = (
        client.get(f"/api/v1/audit/accounts/{i}/events", headers=auditor).json["events"]
        for i in (closed["identifiers"][0], identifier)
    )
    assert identifier != closed["identifiers"][0]
    assert {e["stream"] for e in old}.isdisjoint({e["stream"] for e in new})
    # Public constants only: the service's own vocabulary, the member's sections, versions.
    shared = leaves([e["data"] for e in old]) & leaves([e["data"] for e in new])
    assert {v for v in shared if not v.startswith('"system:')} <= {
        "null", "true", "false", '"registration"', '"points_statement"', '"[effacé]"',
        '"[masqué]"', *(str(n) for n in range(10)),
    }, shared
