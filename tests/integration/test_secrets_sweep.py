"""Every kind of secret, used through one member's whole story on the production shape
(PostgreSQL, Redis broker, a dramatiq worker), then searched for everywhere it could leak:
every raw table (events, snapshots, read models, keys, sessions, tokens), every Redis key and
value, and every log line as JSON. None may be found; the searches are proven to work by
finding values that are meant to be there."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import dramatiq
import redis

from app import create_app
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

QUESTION = "Ville de naissance de ma grand-mère ?"
ANSWER = "Saint-Pierre-des-Corps-Balsamiques"
PASSWORD = "Le grand cèdre bleu veille sur la colline endormie."
WRONG = "Mauvais-Essai-Unique-2026"


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


def test_no_secret_of_a_whole_story_is_left_anywhere(
    tmp_path: Path, postgres_url: str, redis_url: str, json_log: io.StringIO
) -> None:
    settings = make_settings(tmp_path, postgres_url, ACCOUNTS_REDIS_URL=redis_url)
    app = create_app(settings)
    services = app.extensions["accounts"]
    services.directory.import_csv(DEMO_CSV.read_text(encoding="utf-8"))
    worker = dramatiq.Worker(services.broker, worker_threads=2, worker_timeout=100)
    worker.start()
    client = app.test_client()
    mail = settings.mail.directory
    try:
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
        services.projections.run_until_idle()
    finally:
        worker.stop()
        services.close()

    places = {
        "database": postgres_dump(postgres_url),
        "redis": redis_text(redis_url),
        "logs": json_log.getvalue(),
    }
    # The searches can find what is meant to be there.
    assert identifier in places["database"] and "RegistrationRequested" in places["database"]
    assert "dramatiq" in places["redis"]
    assert all(json.loads(line) for line in places["logs"].splitlines())
    assert "/api/v1/me/password" in places["logs"]
    secrets = {
        "temporary password": temporary, "second temporary password": temporary_again,
        "own password": PASSWORD, "wrong password": WRONG, "session token": first,
        "second session token": second, "verification code": code, "secret answer": ANSWER,
        "support token": support, "auditor token": auditor,
    }
    found = [
        f"{what} in {where}" for what, secret in secrets.items()
        for where, text in places.items()
        if secret.lower() in text.lower()
    ]
    assert found == []
