"""Bearer staff tokens and roles, as later endpoints use them."""

from __future__ import annotations

import pytest
from flask import g, jsonify

from adapters.http.auth import require_staff


@pytest.fixture
def guarded(app):
    @app.get("/api/v1/test-only/support")
    @require_staff("support")
    def support_only():
        return jsonify(name=g.staff.name, actor=g.staff.actor)

    return app.test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_support_token_gets_through_and_is_named(guarded, services):
    token = services.staff_tokens.create("alice", "support")
    response = guarded.get("/api/v1/test-only/support", headers=bearer(token))
    assert response.status_code == 200
    assert response.json == {"name": "alice", "actor": "support:alice"}


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer ", "Basic abc", "Bearer not-a-token", "bearer " + "x" * 300],
    ids=["none", "no-token", "blank", "basic", "unknown", "oversized"],
)
def test_no_or_unknown_token_is_authentication_required(guarded, header):
    headers = {"Authorization": header} if header is not None else {}
    response = guarded.get("/api/v1/test-only/support", headers=headers)
    assert response.status_code == 401
    assert response.json["code"] == "authentication_required"
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("role", ["auditor", "claims"])
def test_another_role_is_forbidden(guarded, services, role):
    token = services.staff_tokens.create("bob", role)
    response = guarded.get("/api/v1/test-only/support", headers=bearer(token))
    assert response.status_code == 403 and response.json["code"] == "forbidden"


def test_only_the_digest_of_a_staff_token_is_stored(services):
    from tests.helpers import database_text

    token = services.staff_tokens.create("carol", "support")
    dump = database_text(services)
    assert "carol" in dump and token not in dump
