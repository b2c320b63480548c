"""Sign-in, sessions and the member's password, on SQLite and PostgreSQL (CONTRACT.md:
"Authentication", POST/DELETE sessions, GET /me, PUT /me/password, "Passwords")."""

from __future__ import annotations

import logging
import unicodedata
from datetime import datetime, timedelta

import bcrypt
import pytest

from tests.helpers import (
    EMAIL,
    MEMBER,
    OTHER,
    OWN,
    assert_invalid_credentials,
    bearer,
    change_password,
    database_text,
    drain,
    event_types,
    issued_credentials,
    lock,
    member_with_own_password,
    read_mail,
    register_member,
    sign_in,
)

ACCENTED_64 = "Été élégant à Noël : gâteaux, crêpes, bûches et thé glacé ôtés !"
HEAVY_64 = "« Élève âgé… évêque ému, été brûlé, thé glacé, fée déçue à Noël»"

RULE_SHORT = "Le mot de passe doit comporter au moins 12 caractères."
RULE_LONG = "Le mot de passe doit comporter au plus 64 caractères."
RULE_PERSONAL = (
    "Le mot de passe ne doit contenir ni votre identifiant, ni vos nom et prénom, "
    "ni votre adresse e-mail."
)
RULE_CURRENT = "Le nouveau mot de passe doit être différent du mot de passe actuel."
RULE_COMMON = "Ce mot de passe est trop courant ou trop facile à deviner."


def mail_subjects(services) -> list[tuple[str, str]]:
    drain(services)
    return [(m["To"], m["Subject"]) for m in read_mail(services.settings.mail.directory)]


def me(client, token: str):
    return client.get("/api/v1/me", headers=bearer(token))


def recover(client, services) -> str:
    """Codes d'accès oubliés: returns the new temporary password."""
    before = len(issued_credentials(services))
    assert client.post("/api/v1/recoveries", json=MEMBER).status_code == 202
    issued = issued_credentials(services)
    assert len(issued) == before + 1
    return issued[-1][1]


# Temporary passwords.


def test_the_temporary_password_opens_a_12_hour_session_that_must_change_password(
    client, services, clock
):
    identifier, temporary = register_member(client, services)
    response = sign_in(client, identifier, temporary)
    assert response.status_code == 201
    body = response.json
    assert len(body["token"]) >= 43  # 256 bits, url-safe base64
    assert datetime.fromisoformat(body["expires_at"]) == clock.now + timedelta(hours=12)
    assert body["must_change_password"] is True
    view = me(client, body["token"])
    assert view.status_code == 200
    assert view.json["identifier"] == identifier and view.json["must_change_password"] is True


def test_a_temporary_session_may_only_read_me_change_the_password_and_sign_out(client, services):
    identifier, temporary = register_member(client, services)
    token = sign_in(client, identifier, temporary).json["token"]
    alerts = client.put("/api/v1/me/alerts", json={"reimbursements": True}, headers=bearer(token))
    assert alerts.status_code == 403 and alerts.json["code"] == "password_change_required"
    other_calls = [
        client.post(
            "/api/v1/me/email", json={"new_email": "x@example.org", "password": temporary},
            headers=bearer(token),
        ),
        client.put(
            "/api/v1/me/secret-question",
            json={"question": "Mon chien ?", "answer": "Médor", "password": temporary},
            headers=bearer(token),
        ),
    ]
    assert [r.json["code"] for r in other_calls] == ["password_change_required"] * 2
    assert me(client, token).status_code == 200
    assert change_password(client, token, temporary, OWN).status_code == 204
    alerts = client.put("/api/v1/me/alerts", json={"reimbursements": True}, headers=bearer(token))
    assert alerts.status_code == 200 and alerts.json == {"reimbursements": True}
    assert me(client, token).json["must_change_password"] is False
    own = sign_in(client, identifier, OWN)
    assert own.status_code == 201 and own.json["must_change_password"] is False


def test_a_temporary_session_may_sign_out(client, services):
    identifier, temporary = register_member(client, services)
    token = sign_in(client, identifier, temporary).json["token"]
    assert client.delete("/api/v1/sessions/current", headers=bearer(token)).status_code == 204


def test_the_temporary_password_is_refused_after_24_hours(client, services, clock):
    identifier, temporary = register_member(client, services)
    clock.advance(hours=23, minutes=59)
    assert sign_in(client, identifier, temporary).status_code == 201
    clock.advance(minutes=1, seconds=1)
    assert_invalid_credentials(sign_in(client, identifier, temporary))


def test_a_newer_temporary_password_cancels_the_older_one_at_once(client, services):
    identifier, first = register_member(client, services)
    second = recover(client, services)
    assert second != first
    assert_invalid_credentials(sign_in(client, identifier, first))
    response = sign_in(client, identifier, second)
    assert response.status_code == 201 and response.json["must_change_password"] is True


def test_after_a_recovery_the_own_password_works_until_the_new_temporary_one_is_used(
    client, services
):
    identifier, _ = member_with_own_password(client, services)
    temporary = recover(client, services)
    own = sign_in(client, identifier, OWN)
    assert own.status_code == 201 and own.json["must_change_password"] is False
    with_temporary = sign_in(client, identifier, temporary)
    assert with_temporary.status_code == 201
    assert with_temporary.json["must_change_password"] is True
    assert_invalid_credentials(sign_in(client, identifier, OWN))


def test_the_temporary_password_stops_working_once_the_own_password_is_set(client, services):
    identifier, temporary = register_member(client, services)
    token = sign_in(client, identifier, temporary).json["token"]
    assert change_password(client, token, temporary, OWN).status_code == 204
    assert_invalid_credentials(sign_in(client, identifier, temporary))


# Failures and lockout.


def test_every_sign_in_failure_is_the_same_401_invalid_credentials(client, services):
    identifier, temporary = register_member(client, services)
    other = "87654321" if identifier != "87654321" else "12345678"
    failures = [
        sign_in(client, other, temporary),  # unknown identifier
        sign_in(client, identifier, "Pas le bon mot de passe"),  # wrong password
        sign_in(client, "abc", temporary),  # malformed identifier
        sign_in(client, identifier + "0", temporary),  # 9 digits
    ]
    lock(client, identifier)
    failures.append(sign_in(client, identifier, temporary))  # locked, right password
    for response in failures:
        assert_invalid_credentials(response)
    assert all(r.json == failures[0].json for r in failures)
    assert set(failures[0].json) == {"code", "message"}


def test_five_wrong_passwords_in_a_row_lock_the_account_for_15_minutes(client, services, clock):
    identifier, temporary = register_member(client, services)
    lock(client, identifier)
    assert_invalid_credentials(sign_in(client, identifier, temporary))
    clock.advance(minutes=14, seconds=59)
    assert_invalid_credentials(sign_in(client, identifier, temporary))
    clock.advance(seconds=2)  # 15 min 01 s after the lock
    assert sign_in(client, identifier, temporary).status_code == 201


def test_a_success_resets_the_failure_count(client, services):
    identifier, temporary = register_member(client, services)
    for _ in range(4):
        assert_invalid_credentials(sign_in(client, identifier, "Mauvais mot de passe 1"))
    assert sign_in(client, identifier, temporary).status_code == 201
    for _ in range(4):
        assert_invalid_credentials(sign_in(client, identifier, "Mauvais mot de passe 1"))
    assert sign_in(client, identifier, temporary).status_code == 201
    assert "AccountLocked" not in event_types(services)


def test_a_lock_is_recorded_and_the_member_is_told_in_french(client, services):
    identifier, _ = register_member(client, services)
    lock(client, identifier)
    types = event_types(services)
    assert types.count("SignInFailed") == 5 and types.count("AccountLocked") == 1
    notices = [(to, s) for to, s in mail_subjects(services) if "bloqué" in s]
    assert notices == [(EMAIL, "Votre compte de l'Espace Client est temporairement bloqué")]


def test_a_wrong_current_password_is_a_validation_error_and_the_session_stays(client, services):
    identifier, temporary = register_member(client, services)
    token = sign_in(client, identifier, temporary).json["token"]
    response = change_password(client, token, "Pas le bon mot de passe", OWN)
    assert response.status_code == 422
    assert response.json["code"] == "validation_error"
    assert list(response.json["errors"]) == ["current_password"]
    assert me(client, token).status_code == 200
    assert "SignInFailed" in event_types(services)
    assert "PasswordChanged" not in event_types(services)


def test_wrong_current_passwords_count_toward_the_lockout(client, services):
    identifier, temporary = register_member(client, services)
    token = sign_in(client, identifier, temporary).json["token"]
    for _ in range(5):
        assert change_password(client, token, "Pas le bon mot de passe", OWN).status_code == 422
    assert "AccountLocked" in event_types(services)
    assert_invalid_credentials(sign_in(client, identifier, temporary))


def test_wrong_sign_ins_and_wrong_confirmations_add_up(client, services):
    identifier, temporary = register_member(client, services)
    token = sign_in(client, identifier, temporary).json["token"]
    for _ in range(4):
        assert_invalid_credentials(sign_in(client, identifier, "Mauvais mot de passe 1"))
    assert change_password(client, token, "Pas le bon mot de passe", OWN).status_code == 422
    assert_invalid_credentials(sign_in(client, identifier, temporary))


# Password policy.


@pytest.mark.parametrize(
    ("new_password", "rule"),
    [
        ("Zq8#mLp2!vX", RULE_SHORT),
        ("Où sont passées les clés du château ? Derrière la tour, sous le l", RULE_LONG),
        ("Mon code {identifier} reste ma clé secrète à moi", RULE_PERSONAL),
        ("Le jardin de dupre lefevre fleurit en été", RULE_PERSONAL),
        ("Le jardin de HÉLÈNE fleurit en été, voilà", RULE_PERSONAL),
        ("Le colibri.turquoise chante à minuit pile", RULE_PERSONAL),
        ("motdepasse123456", RULE_COMMON),
    ],
    ids=["11-chars", "65-code-points", "identifier", "last-name", "first-name", "email-local",
         "common"],
)
def test_each_password_rule_says_what_is_wrong(client, services, new_password, rule):
    identifier, temporary = register_member(client, services)
    token = sign_in(client, identifier, temporary).json["token"]
    new_password = new_password.format(identifier=identifier)
    response = change_password(client, token, temporary, new_password)
    assert response.status_code == 422
    assert response.json["code"] == "weak_password"
    assert rule in response.json["errors"]["new_password"]
    assert "PasswordChanged" not in event_types(services)


def test_the_lengths_of_the_rules_are_bounds_that_are_accepted(client, services):
    identifier, temporary = register_member(client, services)
    token = sign_in(client, identifier, temporary).json["token"]
    twelve = "Kx7!pQ2#vR9z"
    assert len(twelve) == 12
    assert change_password(client, token, temporary, twelve).status_code == 204


def test_the_current_password_cannot_be_the_new_one(client, services):
    _, token = member_with_own_password(client, services)
    response = change_password(client, token, OWN, OWN)
    assert response.status_code == 422 and response.json["code"] == "weak_password"
    assert RULE_CURRENT in response.json["errors"]["new_password"]


def test_several_broken_rules_give_several_sentences(client, services):
    identifier, temporary = register_member(client, services)
    token = sign_in(client, identifier, temporary).json["token"]
    response = change_password(client, token, temporary, f"x{identifier}")
    assert response.status_code == 422 and response.json["code"] == "weak_password"
    problems = response.json["errors"]["new_password"]
    assert RULE_SHORT in problems and RULE_PERSONAL in problems
    assert len(problems) == len(set(problems)) >= 2


def test_a_64_character_phrase_full_of_accents_is_accepted(client, services):
    assert len(ACCENTED_64) == 64 and len(ACCENTED_64.encode()) > 72
    identifier, _ = member_with_own_password(client, services, ACCENTED_64)
    assert sign_in(client, identifier, ACCENTED_64).status_code == 201


def test_length_is_counted_after_nfc(client, services):
    decomposed = unicodedata.normalize("NFD", ACCENTED_64)
    assert len(decomposed) > 64
    identifier, _ = member_with_own_password(client, services, decomposed)
    assert sign_in(client, identifier, ACCENTED_64).status_code == 201


def test_a_password_set_in_nfc_signs_in_typed_in_nfd(client, services):
    identifier, _ = member_with_own_password(client, services, OWN)
    decomposed = unicodedata.normalize("NFD", OWN)
    assert decomposed != OWN
    assert sign_in(client, identifier, decomposed).status_code == 201


# Strange passwords.


@pytest.mark.parametrize(
    "password",
    [
        "é" * 64,
        ("Une phrase de passe bien trop longue pour la politique. " * 4)[:200],
        "avant\x00après",
        "🔑🏰 les clés du château 🗝️👑",
        "x" * 1024,
    ],
    ids=["64-accented", "200-chars", "nul", "emoji", "1024-chars"],
)
def test_no_password_makes_a_500(client, services, password):
    identifier, _ = register_member(client, services)
    assert_invalid_credentials(sign_in(client, identifier, password))


# Valid JSON escapes of a lone surrogate: no UTF-8 encoding exists for them. The long one
# passes the policy, so that it reaches the hashing.
LONE_SURROGATE = "ab\\ud800cd"
STRONG_WITH_SURROGATE = "Où sont passées \\ud800 les clés du château ?"


def test_a_password_with_a_lone_surrogate_is_invalid_input_not_a_500(client, services):
    # No Unicode text holds a lone surrogate: like any invalid field, a 422 naming it.
    identifier, _ = register_member(client, services)
    response = client.post(
        "/api/v1/sessions",
        data=f'{{"identifier": "{identifier}", "password": "{LONE_SURROGATE}"}}',
        content_type="application/json",
    )
    assert response.status_code == 422, response.json
    assert response.json["code"] == "validation_error"
    assert list(response.json["errors"]) == ["password"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("current_password", LONE_SURROGATE), ("new_password", STRONG_WITH_SURROGATE)],
    ids=["current", "new"],
)
def test_a_password_change_with_a_lone_surrogate_is_a_422_not_a_500(
    client, services, field, value
):
    identifier, temporary = register_member(client, services)
    token = sign_in(client, identifier, temporary).json["token"]
    values = {"current_password": temporary, "new_password": OWN, field: value}
    body = ", ".join(f'"{k}": "{v}"' for k, v in values.items())
    response = client.put(
        "/api/v1/me/password", data=f"{{{body}}}", content_type="application/json",
        headers=bearer(token),
    )
    assert response.status_code == 422, response.json


def test_bcrypts_72_byte_limit_never_truncates(client, services):
    identifier, _ = member_with_own_password(client, services, HEAVY_64)
    assert len(HEAVY_64) == 64
    # The shortest prefix past 72 bytes, then something else: the same first 72 bytes.
    cut = next(i for i in range(len(HEAVY_64)) if len(HEAVY_64[:i].encode()) > 72)
    assert cut < 64
    lookalike = HEAVY_64[:cut] + "zzzzzzzzzz"
    assert lookalike.encode()[:72] == HEAVY_64.encode()[:72]
    assert_invalid_credentials(sign_in(client, identifier, lookalike))
    assert sign_in(client, identifier, HEAVY_64).status_code == 201


# Sessions.


def test_signing_out_ends_the_session(client, services):
    _, token = member_with_own_password(client, services)
    assert client.delete("/api/v1/sessions/current", headers=bearer(token)).status_code == 204
    response = me(client, token)
    assert response.status_code == 401 and response.json["code"] == "authentication_required"


def test_a_password_change_ends_the_other_sessions_only_and_is_announced(client, services):
    identifier, first = member_with_own_password(client, services)
    second = sign_in(client, identifier, OWN).json["token"]
    third = sign_in(client, identifier, OWN).json["token"]
    assert change_password(client, second, OWN, OTHER).status_code == 204
    assert me(client, second).status_code == 200
    for token in (first, third):
        response = me(client, token)
        assert response.status_code == 401 and response.json["code"] == "authentication_required"
    assert_invalid_credentials(sign_in(client, identifier, OWN))
    assert sign_in(client, identifier, OTHER).status_code == 201
    notices = [(to, s) for to, s in mail_subjects(services) if "mot de passe" in s]
    # One for the first own password, one for this change.
    assert notices == [(EMAIL, "Votre mot de passe de l'Espace Client a été modifié")] * 2


def test_a_session_ends_after_30_idle_minutes(client, services, clock):
    _, token = member_with_own_password(client, services)
    clock.advance(minutes=29)
    assert me(client, token).status_code == 200
    clock.advance(minutes=31)
    response = me(client, token)
    assert response.status_code == 401 and response.json["code"] == "authentication_required"


def test_every_request_moves_the_idle_expiry(client, services, clock):
    _, token = member_with_own_password(client, services)
    clock.advance(seconds=59)
    assert me(client, token).status_code == 200
    clock.advance(minutes=29, seconds=30)  # 29 min 30 s idle since that request
    assert me(client, token).status_code == 200


def test_activity_keeps_a_session_alive_but_not_past_12_hours(client, services, clock):
    identifier, _ = member_with_own_password(client, services)
    token = sign_in(client, identifier, OWN).json["token"]
    for _ in range(35):  # up to 11 h 40
        clock.advance(minutes=20)
        assert me(client, token).status_code == 200
    clock.advance(minutes=21)  # 12 h 01, with only 21 idle minutes
    response = me(client, token)
    assert response.status_code == 401 and response.json["code"] == "authentication_required"


def test_a_staff_token_is_forbidden_on_member_endpoints(client, services):
    token = services.staff_tokens.create("alice", "support")
    response = me(client, token)
    assert response.status_code == 403 and response.json["code"] == "forbidden"


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer n1mporte-quoi", "Basic YWxpY2U6c2VjcmV0", "Bearer " + "x" * 300],
    ids=["none", "empty", "garbage", "basic", "oversized"],
)
def test_no_or_garbage_bearer_is_authentication_required(client, header):
    headers = {"Authorization": header} if header is not None else {}
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and response.json["code"] == "authentication_required"


# Secrets.


def test_no_token_or_password_is_stored_or_logged(client, services, caplog):
    caplog.set_level(logging.DEBUG)
    identifier, temporary = register_member(client, services)
    first = sign_in(client, identifier, temporary).json["token"]
    assert change_password(client, first, temporary, OWN).status_code == 204
    assert change_password(client, first, "Pas le bon mot de passe", OTHER).status_code == 422
    second = sign_in(client, identifier, OWN).json["token"]
    assert_invalid_credentials(sign_in(client, identifier, OTHER))
    for token in (first, second):
        assert client.delete("/api/v1/sessions/current", headers=bearer(token)).status_code == 204
    drain(services)
    dump = database_text(services)
    assert identifier in dump  # the search finds what is there
    for secret in (first, second, temporary, OWN, OTHER, "Pas le bon mot de passe"):
        assert secret not in dump
        assert secret not in caplog.text


def test_credentials_pasted_from_the_email_with_white_space_sign_in_and_count_nothing(
    client, services
):
    identifier, temporary = register_member(client, services)
    response = sign_in(client, f" {identifier}\n", f"{temporary} \n")
    assert response.status_code == 201, response.json
    assert response.json["must_change_password"] is True
    assert "SignInFailed" not in event_types(services)


# The same work whatever the identifier and the account (issue 15).

WRONG_IN_A_TEMPORARY_ONES_SHAPE = "Kqzwmxvbn7"


def test_after_a_recovery_wrong_passwords_of_either_shape_count_once_each(client, services):
    identifier, _ = member_with_own_password(client, services)
    recover(client, services)
    before = event_types(services).count("SignInFailed")
    for wrong in ("Pas le bon mot de passe", WRONG_IN_A_TEMPORARY_ONES_SHAPE):
        assert_invalid_credentials(sign_in(client, identifier, wrong))
    assert event_types(services).count("SignInFailed") == before + 2
    assert sign_in(client, identifier, OWN).status_code == 201


def test_after_a_recovery_the_temporary_password_pasted_with_a_line_break_signs_in(
    client, services
):
    identifier, _ = member_with_own_password(client, services)
    temporary = recover(client, services)
    response = sign_in(client, identifier, f"\t{temporary}\r\n")
    assert response.status_code == 201 and response.json["must_change_password"] is True
    assert "SignInFailed" not in event_types(services)


def checked_by_bcrypt(monkeypatch) -> list[bytes]:
    """The hashes bcrypt verifies against from now on, whoever asks."""
    checked: list[bytes] = []
    checkpw = bcrypt.checkpw

    def counted(password: bytes, hashed: bytes) -> bool:
        checked.append(hashed)
        return checkpw(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counted)
    return checked


@pytest.mark.parametrize(
    "path", ["unknown", "wrong password", "recovering, wrong password", "locked", "closed"]
)
def test_a_refused_sign_in_is_one_bcrypt_verification_at_the_configured_cost(
    client, services, monkeypatch, path
):
    identifier, _ = member_with_own_password(client, services)
    if path == "unknown":
        identifier = "87654321" if identifier != "87654321" else "12345678"
    elif path == "recovering, wrong password":
        recover(client, services)
    elif path == "locked":
        lock(client, identifier)
    elif path == "closed":  # and erased: its personal fields unreadable
        account_id = services.lifecycle.account_by_identifier(identifier).id
        request_id = services.use_cases.closure.request_closure(account_id, OWN)
        services.use_cases.support.decide_request(request_id, True, "alice", "demande", None)
    counted = path in ("wrong password", "recovering, wrong password")
    typed = "Pas le bon mot de passe" if counted else OWN  # locked, closed: the right one
    drain(services)  # the e-mails of the set-up, and what their outcomes record
    before = event_types(services)
    checked = checked_by_bcrypt(monkeypatch)
    assert_invalid_credentials(sign_in(client, identifier, typed))
    drain(services)
    assert len(checked) == 1
    assert checked[0][3:7] == f"${services.settings.bcrypt_rounds:02d}$".encode()
    assert event_types(services)[len(before):] == (["SignInFailed"] if counted else [])
