"""Passkeys, recovery codes and re-authentication through the API (CONTRACT.md, "Members in
control"), answered by a software authenticator, on both stores."""

from __future__ import annotations

import base64
import json

import pytest

from domain.use_cases.passkeys import WRONG_CODE as WRONG_CODE_MESSAGE
from tests.helpers import (
    IDENTITY,
    OWN_PASSWORD,
    assert_error,
    database_text,
    event_types,
    inbox,
    open_account,
    session_bearer,
    sign_in,
    text_of,
)
from tests.soft_authenticator import SoftAuthenticator

ORIGIN, RP_ID = "http://localhost:5000", "localhost"
WRONG_CODE = "ZZ7Q-4KXW-9RTM-HV3P"  # well formed, and none of hers


@pytest.fixture
def member(client, services):
    return open_account(client, services)


@pytest.fixture
def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator(ORIGIN, RP_ID)


def options(client, path: str, headers=None) -> str:
    answer = client.post(path, headers=headers or {})
    assert answer.status_code == 200, answer.json
    return json.dumps(answer.json["options"])


def add_passkey(client, member, authenticator, name="Mon téléphone"):
    created = authenticator.create(options(client, "/api/v1/me/passkeys/options", member.headers))
    return client.post("/api/v1/me/passkeys", json={"name": name, "credential": created},
                       headers=member.headers)


def codes_left(client, member) -> int:
    return client.get("/api/v1/me/passkeys", headers=member.headers).json["recovery_codes_left"]


def passkey_sign_in(client, authenticator, **forge):
    answer = authenticator.get(options(client, "/api/v1/sessions/passkey/options"), **forge)
    return client.post("/api/v1/sessions/passkey", json={"credential": answer})


def test_a_member_adds_a_passkey_then_signs_in_with_it_alone(client, member, authenticator):
    added = add_passkey(client, member, authenticator)
    assert added.status_code == 201, added.json
    codes = added.json["recovery_codes"]
    assert len(codes) == 10 and all(len(c) == 19 for c in codes)
    assert added.json["passkey"]["name"] == "Mon téléphone"
    opened = passkey_sign_in(client, authenticator)
    assert opened.status_code == 201 and opened.json["must_change_password"] is False
    me = client.get("/api/v1/me", headers=session_bearer(opened))
    assert me.json["identifier"] == member.identifier
    listed = client.get("/api/v1/me/passkeys", headers=member.headers).json
    assert listed["recovery_codes_left"] == 10 and listed["required"] is False
    assert listed["passkeys"][0]["last_used_at"] is not None


def test_a_refused_passkey_answers_401_and_records_nothing(client, services, member,
                                                          authenticator):
    add_passkey(client, member, authenticator)
    inbox(services)  # the notice of the passkey added, and its outcome recorded
    before = event_types(services)
    for forged in ({"origin": "http://localhost:5001"}, {"rp_id": "evil.example"},
                   {"user_verified": False}):
        assert_error(passkey_sign_in(client, authenticator, **forged), 401,
                     "invalid_credentials")
    replayed = client.post("/api/v1/sessions/passkey", json={"credential": authenticator.replay()})
    assert_error(replayed, 401, "invalid_credentials")
    assert event_types(services) == before


def test_requiring_a_passkey_refuses_the_password_and_a_recovery_code_opens_once(
    client, member, authenticator
):
    codes = add_passkey(client, member, authenticator).json["recovery_codes"]
    required = client.put("/api/v1/me/passkeys/requirement", json={"required": True},
                          headers=member.headers)
    assert required.status_code == 200 and required.json == {"required": True}
    assert_error(sign_in(client, member.identifier, OWN_PASSWORD), 401, "invalid_credentials")
    body = {"identifier": member.identifier, "recovery_code": codes[0]}
    assert client.post("/api/v1/sessions/recovery-code", json=body).status_code == 201
    assert_error(client.post("/api/v1/sessions/recovery-code", json=body), 401,
                 "invalid_credentials")


def test_a_sensitive_change_after_five_minutes_asks_for_a_proof_first(
    client, clock, member, authenticator
):
    added = add_passkey(client, member, authenticator).json["passkey"]
    clock.advance(minutes=5)  # the bound itself: still in time
    assert client.put("/api/v1/me/passkeys/requirement", json={"required": False},
                      headers=member.headers).status_code == 200
    clock.advance(seconds=1)
    removal = f"/api/v1/me/passkeys/{added['passkey_id']}"
    assert_error(client.delete(removal, headers=member.headers), 403,
                 "reauthentication_required")
    proof = client.post("/api/v1/me/reauthentication", json={"password": OWN_PASSWORD},
                        headers=member.headers)
    assert proof.status_code == 204
    assert client.delete(removal, headers=member.headers).status_code == 204
    assert client.get("/api/v1/me/passkeys", headers=member.headers).json["passkeys"] == []


def test_a_passkey_proves_identity_too(client, clock, member, authenticator):
    add_passkey(client, member, authenticator)
    clock.advance(minutes=6)
    answer = authenticator.get(options(client, "/api/v1/me/reauthentication/options",
                                       member.headers))
    proof = client.post("/api/v1/me/reauthentication", json={"credential": answer},
                        headers=member.headers)
    assert proof.status_code == 204
    assert client.post("/api/v1/me/recovery-codes", headers=member.headers).status_code == 201


def test_a_recovery_code_proves_identity_once_and_a_wrong_one_changes_nothing_else(
    client, clock, services, member, authenticator
):
    codes = add_passkey(client, member, authenticator).json["recovery_codes"]
    clock.advance(minutes=6)
    renew = "/api/v1/me/recovery-codes"
    assert_error(client.post(renew, headers=member.headers), 403, "reauthentication_required")
    inbox(services)
    before = event_types(services)

    wrong = client.post("/api/v1/me/reauthentication", json={"recovery_code": WRONG_CODE},
                        headers=member.headers)
    assert_error(wrong, 422, "validation_error")
    assert wrong.json["errors"] == {"recovery_code": [WRONG_CODE_MESSAGE]}
    assert event_types(services) == [*before, "SignInFailed"]  # toward the lockout, no more
    assert codes_left(client, member) == 10
    assert_error(client.post(renew, headers=member.headers), 403, "reauthentication_required")

    proof = client.post("/api/v1/me/reauthentication", json={"recovery_code": codes[0]},
                        headers=member.headers)
    assert proof.status_code == 204
    assert codes_left(client, member) == 9
    assert client.post(renew, headers=member.headers).status_code == 201

    clock.advance(minutes=6)
    spent = client.post("/api/v1/me/reauthentication", json={"recovery_code": codes[0]},
                        headers=member.headers)
    assert_error(spent, 422, "validation_error")


def test_a_wrong_proof_is_a_field_error_and_one_proof_only_is_taken(client, member):
    wrong = client.post("/api/v1/me/reauthentication", json={"password": "pas le bon"},
                        headers=member.headers)
    assert_error(wrong, 422, "validation_error")
    assert list(wrong.json["errors"]) == ["password"]
    both = client.post("/api/v1/me/reauthentication",
                       json={"password": OWN_PASSWORD, "recovery_code": "X"},
                       headers=member.headers)
    assert_error(both, 422, "validation_error")


def test_no_recovery_code_nor_challenge_is_stored_in_clear(
    client, services, member, authenticator, json_log
):
    challenge_options = options(client, "/api/v1/sessions/passkey/options")
    challenge = json.loads(challenge_options)["challenge"]
    codes = add_passkey(client, member, authenticator).json["recovery_codes"]
    stored = database_text(services) + json_log.getvalue()
    raw = base64.urlsafe_b64decode(challenge + "=" * (-len(challenge) % 4))
    for secret in (*codes, *(c.replace("-", "") for c in codes), challenge, raw.hex()):
        assert secret not in stored


def test_each_passkey_added_or_removed_is_told_by_e_mail(client, services, member, authenticator):
    inbox(services)
    added = add_passkey(client, member, authenticator).json["passkey"]
    [told] = inbox(services)
    assert told["Subject"] == "Une clé d'accès a été ajoutée à votre compte de l'Espace Client"
    assert "/mon-espace/securite" in text_of(told)
    client.delete(f"/api/v1/me/passkeys/{added['passkey_id']}", headers=member.headers)
    [told] = inbox(services)
    assert "supprimée" in told["Subject"]


def test_forgotten_credentials_send_no_password_to_a_member_who_requires_a_passkey(
    client, services, member, authenticator
):
    add_passkey(client, member, authenticator)
    client.put("/api/v1/me/passkeys/requirement", json={"required": True}, headers=member.headers)
    inbox(services)
    assert client.post("/api/v1/recoveries", json=IDENTITY).status_code == 202
    [told] = inbox(services)
    body = text_of(told)
    assert "aucun mot de passe temporaire n'est donc envoyé" in " ".join(body.split())
    assert "Mot de passe temporaire" not in body and "code de secours" in body
