"""Logs: one JSON object per line, each request's id on every line it causes, in the API and
in the e-mail jobs it enqueued, and never a secret."""

from __future__ import annotations

import io
import json

import pytest

from tests.helpers import OWN, change_password, mails, register, register_member, sign_in


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]  # each one is JSON


def test_a_request_id_follows_a_registration_into_its_e_mail_job(client, services, json_log):
    response = register(client, headers={"X-Request-ID": "portal-7f3a9c21"})
    assert response.headers["X-Request-ID"] == "portal-7f3a9c21"
    mails(services)  # the in-process worker has run the job
    records = lines(json_log)
    access = [r for r in records if r.get("logger") == "accounts.access"]
    assert {(r["method"], r["path"], r["status"], r["request_id"]) for r in access} == {
        ("POST", "/api/v1/registrations", 201, "portal-7f3a9c21")
    }
    [job] = [r for r in records if r["event"] == "e-mail sent"]
    assert (job["mail"], job["request_id"], job["job"]) == (
        "credentials", "portal-7f3a9c21", "deliver_credentials"
    )
    assert all({"timestamp", "level", "logger", "event"} <= set(r) for r in records)


@pytest.mark.parametrize("supplied", [None, "short", "a b c d e f g h", "x" * 65, "é" * 10])
def test_a_missing_or_unfit_request_id_is_replaced_by_a_fresh_one(client, supplied):
    headers = {"X-Request-ID": supplied} if supplied else {}
    answered = client.get("/healthz", headers=headers).headers["X-Request-ID"]
    assert answered != supplied and len(answered) == 32 and int(answered, 16) >= 0


def test_no_secret_reaches_a_log_line(client, services, json_log):
    identifier, temporary = register_member(client, services)
    token = sign_in(client, identifier, temporary).json["token"]
    assert change_password(client, token, temporary, OWN).status_code == 204
    assert sign_in(client, identifier, "Mauvais-Essai-42").status_code == 401
    mails(services)
    text = json_log.getvalue()
    assert '"path": "/api/v1/me/password"' in text  # the search finds what is there
    for secret in (temporary, OWN, token, "Mauvais-Essai-42"):
        assert secret not in text, secret
