"""Web security: headers on every answer, and no secret ever travels in a URL."""

from __future__ import annotations

import re

import pytest

from tests.helpers import bearer, member_with_own_password

SECRET_NAMES = re.compile(r"token|password|answer|code|secret", re.I)


@pytest.mark.parametrize("method, path", [
    ("post", "/api/v1/sessions"), ("get", "/api/v1/me"), ("get", "/api/v1/audit/events"),
    ("post", "/api/v1/registrations"), ("get", "/api/v1/nowhere"),
])
def test_every_api_answer_is_neither_cached_framed_sniffed_nor_run(client, method, path):
    response = getattr(client, method)(path, json={})
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Content-Security-Policy"] == (
        "default-src 'none'; frame-ancestors 'none'"
    )


def test_a_signed_in_members_answers_are_not_cached(client, services):
    _, token = member_with_own_password(client, services)
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"


def test_the_docs_page_keeps_its_scripts_and_the_console_its_own_policy(client):
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert "Content-Security-Policy" not in docs.headers
    assert docs.headers["X-Content-Type-Options"] == "nosniff"
    console = client.get("/support/")
    assert "form-action 'self'" in console.headers["Content-Security-Policy"]
    assert console.headers["Referrer-Policy"] == "same-origin"


def test_no_operation_takes_a_secret_in_its_url(client):
    spec = client.get("/api/v1/openapi.json").json
    in_urls = [
        (path, parameter["name"])
        for path, operations in spec["paths"].items()
        for operation in operations.values() if isinstance(operation, dict)
        for parameter in operation.get("parameters", [])
        if parameter.get("in") in ("query", "path") and SECRET_NAMES.search(parameter["name"])
    ]
    assert in_urls == []
    assert not any(SECRET_NAMES.search(segment) for path in spec["paths"]
                   for segment in re.findall(r"{(\w+)}", path))
