"""Every kind of secret, used through one member's whole story on the production shape
(PostgreSQL, Redis broker, a dramatiq worker), then searched for everywhere it could leak:
every raw table (events, snapshots, read models, keys, sessions, tokens, challenges), every
Redis key and value, and every log line as JSON. None may be found; the searches are proven to
work by finding values that are meant to be there."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dramatiq
import redis

from adapters.webauthn_challenges import challenge_digest
from app import create_app
from domain.credentials import recovery_code_digest
from tests.helpers import (
    CODE,
    DEMO_CSV,
    HELENE,
    IDENTITY,
    NEW_EMAIL,
    credentials,
    make_settings,
    postgres_dump,
    read_mail,
    text_of,
)
from tests.soft_authenticator import SoftAuthenticator, unb64url

QUESTION = "Ville de naissance de ma grand-mère ?"
ANSWER = "Saint-Pierre-des-Corps-Balsamiques"
PASSWORD = "Le grand cèdre bleu veille sur la colline endormie."
WRONG = "Mauvais-Essai-Unique-2026"
WRONG_CODE = "ZZ7Q-4KXW-9RTM-HV3P"  # a well-formed recovery code that is none of hers
ORIGIN, RP_ID = "http://localhost:5000", "localhost"  # the test settings' ACCOUNTS_PORTAL_URL


def redis_text(url: str) -> str:
    client = redis.Redis.from_url(url)
    chunks: list[str] = []
    for key in client.scan_iter():
        chunks.append(key.decode("utf-8", "replace"))
        kind = client.type(key).decode()
        if kind == "string":
            values = [client.get(key)]
        elif kind == "hash":
            values = [v for pair in client.hgetall(key).items() for v in pair]
        elif kind == "list":
            values = client.lrange(key, 0, -1)
        elif kind in ("set", "zset"):
            values = list(client.smembers(key)) if kind == "set" else client.zrange(key, 0, -1)
        else:
            values = []
        chunks += [bytes(v).decode("utf-8", "replace") for v in values if v is not None]
    return "\n".join(chunks)


def wait_for_mail(directory: Path, count: int) -> list:
    deadline = time.monotonic() + 30
    while len(messages := read_mail(directory)) < count:
        assert time.monotonic() < deadline, f"{len(messages)} of {count} e-mails"
        time.sleep(0.05)
    return messages


@contextmanager
def production(tmp_path: Path, postgres_url: str, redis_url: str) -> Iterator[tuple[Any, Any]]:
    """The app on PostgreSQL and Redis with a dramatiq worker running: (services, client)."""
    settings = make_settings(tmp_path, postgres_url, ACCOUNTS_REDIS_URL=redis_url)
    app = create_app(settings)
    services = app.extensions["accounts"]
    services.directory.import_csv(DEMO_CSV.read_text(encoding="utf-8"))
    worker = dramatiq.Worker(services.broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        yield services, app.test_client()
        services.projections.run_until_idle()
    finally:
        worker.stop()
        services.close()


def places_of(postgres_url: str, redis_url: str, json_log: io.StringIO) -> dict[str, str]:
    places = {
        "database": postgres_dump(postgres_url),
        "redis": redis_text(redis_url),
        "logs": json_log.getvalue(),
    }
    # The searches can find what is meant to be there.
    assert "RegistrationRequested" in places["database"]
    assert "dramatiq" in places["redis"]
    assert all(json.loads(line) for line in places["logs"].splitlines())
    return places


def leaks(secrets: dict[str, str], places: dict[str, str]) -> list[str]:
    return [
        f"{what} in {where}" for what, secret in secrets.items()
        for where, text in places.items()
        if secret.lower() in text.lower()
    ]


def test_no_secret_of_a_whole_story_is_left_anywhere(
    tmp_path: Path, postgres_url: str, redis_url: str, json_log: io.StringIO
) -> None:
    mail = tmp_path / "mail"
    with production(tmp_path, postgres_url, redis_url) as (services, client):
        assert client.post("/api/v1/registrations", json={
            **HELENE, "secret_question": QUESTION, "secret_answer": ANSWER,
        }).status_code == 201
        identifier, temporary = credentials(wait_for_mail(mail, 1)[0])
        first = client.post("/api/v1/sessions", json={"identifier": identifier,
                                                      "password": temporary}).json["token"]
        assert client.put("/api/v1/me/password", headers={"Authorization": f"Bearer {first}"},
                          json={"current_password": temporary, "new_password": PASSWORD}
                          ).status_code == 204
        assert client.post("/api/v1/sessions", json={"identifier": identifier,
                                                      "password": WRONG}).status_code == 401
        second = client.post("/api/v1/sessions", json={"identifier": identifier,
                                                       "password": PASSWORD}).json["token"]
        headers = {"Authorization": f"Bearer {second}"}
        assert client.post("/api/v1/me/email", headers=headers, json={
            "new_email": "helene.autre@example.org", "password": PASSWORD}).status_code == 202
        messages = wait_for_mail(mail, 3)  # credentials, password notice, code
        code = next(CODE.search(text_of(m)).group(1) for m in messages
                    if CODE.search(text_of(m)))
        assert client.post("/api/v1/email-verifications", json={"token": code}).status_code == 200
        assert client.post("/api/v1/recoveries", json={
            **IDENTITY, "new_email": NEW_EMAIL, "secret_answer": ANSWER}).status_code == 202
        recovered = [m for m in wait_for_mail(mail, 6) if m["To"] == NEW_EMAIL
                     and "Mot de passe temporaire" in text_of(m)]
        _, temporary_again = credentials(recovered[0])
        assert client.delete("/api/v1/sessions/current", headers=headers).status_code == 204
        support = services.staff_tokens.create("alice", "support")
        auditor = services.staff_tokens.create("audra", "auditor")
        assert client.get("/api/v1/support/queue",
                          headers={"Authorization": f"Bearer {support}"}).status_code == 200
        assert client.get("/api/v1/audit/events",
                          headers={"Authorization": f"Bearer {auditor}"}).status_code == 200

    places = places_of(postgres_url, redis_url, json_log)
    assert identifier in places["database"]
    assert "/api/v1/me/password" in places["logs"]
    secrets = {
        "temporary password": temporary, "second temporary password": temporary_again,
        "own password": PASSWORD, "wrong password": WRONG, "session token": first,
        "second session token": second, "verification code": code, "secret answer": ANSWER,
        "support token": support, "auditor token": auditor,
    }
    assert leaks(secrets, places) == []


def challenge_forms(what: str, options: dict[str, Any]) -> dict[str, str]:
    """A challenge as sent (base64url) and as it might be stored once decoded: hex, base64
    with and without padding, base64url with padding."""
    sent = options["challenge"]
    raw = unb64url(sent)
    padded = base64.b64encode(raw).decode("ascii")
    return {
        f"{what} challenge": sent, f"{what} challenge (hex)": raw.hex(),
        f"{what} challenge (base64)": padded.rstrip("="),
        f"{what} challenge (padded base64)": padded,
        f"{what} challenge (padded base64url)": base64.urlsafe_b64encode(raw).decode("ascii"),
    }


def code_forms(what: str, codes: list[str]) -> dict[str, str]:
    """Each recovery code as shown and as it might be stored once normalised (no dashes)."""
    return {f"{what} {i} {form}": typed for i, shown in enumerate(codes, 1)
            for form, typed in (("shown", shown), ("compact", shown.replace("-", "")))}


def test_no_recovery_code_passkey_challenge_or_session_token_is_left_anywhere(
    tmp_path: Path, postgres_url: str, redis_url: str, json_log: io.StringIO
) -> None:
    mail = tmp_path / "mail"
    authenticator = SoftAuthenticator(ORIGIN, RP_ID)
    challenges: dict[str, dict[str, Any]] = {}
    tokens: dict[str, str] = {}

    def options(what: str, path: str, token: str | None = None) -> str:
        bearer = {"Authorization": f"Bearer {tokens[token]}"} if token else {}
        answer = client.post(path, headers=bearer)
        assert answer.status_code == 200, answer.json
        challenges[what] = answer.json["options"]
        return json.dumps(answer.json["options"])

    def opened(what: str, path: str, body: dict[str, Any]) -> dict[str, str]:
        answer = client.post(path, json=body)
        assert answer.status_code == 201, answer.json
        tokens[what] = answer.json["token"]
        return {"Authorization": f"Bearer {tokens[what]}"}

    with production(tmp_path, postgres_url, redis_url) as (_, client):
        assert client.post("/api/v1/registrations", json=HELENE).status_code == 201
        identifier, temporary = credentials(wait_for_mail(mail, 1)[0])
        first = opened("temporary session", "/api/v1/sessions",
                       {"identifier": identifier, "password": temporary})
        assert client.put("/api/v1/me/password", headers=first, json={
            "current_password": temporary, "new_password": PASSWORD}).status_code == 204
        member = opened("password session", "/api/v1/sessions",
                        {"identifier": identifier, "password": PASSWORD})
        assert client.post("/api/v1/me/reauthentication", headers=member,
                           json={"password": PASSWORD}).status_code == 204

        created = authenticator.create(
            options("registration", "/api/v1/me/passkeys/options", "password session"))
        added = client.post("/api/v1/me/passkeys", headers=member,
                            json={"name": "Mon téléphone", "credential": created})
        assert added.status_code == 201, added.json
        codes = added.json["recovery_codes"]
        assert len(codes) == 10

        answer = authenticator.get(options("sign-in", "/api/v1/sessions/passkey/options"))
        opened("passkey session", "/api/v1/sessions/passkey", {"credential": answer})
        assert client.post("/api/v1/sessions/recovery-code", json={
            "identifier": identifier, "recovery_code": WRONG_CODE}).status_code == 401
        by_code = opened("recovery-code session", "/api/v1/sessions/recovery-code",
                         {"identifier": identifier, "recovery_code": codes[0]})

        answer = authenticator.get(options(
            "re-authentication", "/api/v1/me/reauthentication/options", "recovery-code session"))
        assert client.post("/api/v1/me/reauthentication", headers=by_code,
                           json={"credential": answer}).status_code == 204
        assert client.post("/api/v1/me/reauthentication", headers=by_code,
                           json={"recovery_code": codes[1]}).status_code == 204
        renewed = client.post("/api/v1/me/recovery-codes", headers=by_code)
        assert renewed.status_code == 201, renewed.json
        new_codes = renewed.json["recovery_codes"]
        opened("new-code session", "/api/v1/sessions/recovery-code",
               {"identifier": identifier, "recovery_code": new_codes[0]})
        # Options never answered: their challenge is still in its table at the dump.
        options("unanswered sign-in", "/api/v1/sessions/passkey/options")
        wait_for_mail(mail, 3)  # credentials, password notice, passkey notice
        assert client.delete("/api/v1/sessions/current", headers=member).status_code == 204

    places = places_of(postgres_url, redis_url, json_log)
    # The passkey's name is personal data, sealed like the member's names; its id is public.
    assert created["id"] in places["database"] and "PasskeyAdded" in places["database"]
    assert recovery_code_digest(new_codes[1]) in places["database"]
    unanswered = unb64url(challenges["unanswered sign-in"]["challenge"])
    assert challenge_digest(unanswered) in places["database"]
    assert "/api/v1/sessions/passkey" in places["logs"]
    assert "/api/v1/me/recovery-codes" in places["logs"]
    secrets = {
        "own password": PASSWORD, "temporary password": temporary,
        "wrong recovery code": WRONG_CODE,
        **code_forms("recovery code", codes), **code_forms("new recovery code", new_codes),
        **{f"{what} token": token for what, token in tokens.items()},
        **{form: value for what, sent in challenges.items()
           for form, value in challenge_forms(what, sent).items()},
    }
    assert len(secrets) == 2 + 1 + 40 + 5 + 4 * 5
    assert leaks(secrets, places) == []
