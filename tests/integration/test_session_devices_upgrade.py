"""Migration 0004 (member sessions' public id, device and sign-in instant), on SQLite and
PostgreSQL: a session live at revision 0003 keeps working once upgraded and is listed; one
the previous release opens during a rolling restart gets its id when this release sees it."""

from __future__ import annotations

from datetime import timedelta

from adapters import schema
from app import create_app
from domain.credentials import token_digest
from tests.helpers import DEMO_CSV, open_account

SESSIONS = "/api/v1/me/sessions"


def upgraded_app(settings, clock):
    app = create_app(settings, clock=clock)
    app.extensions["accounts"].directory.import_csv(DEMO_CSV.read_text(encoding="utf-8"))
    return app


def test_a_session_live_at_0003_still_works_after_the_upgrade_and_is_listed(
    client, services, settings, clock
):
    member = open_account(client, services)
    services.close()
    assert schema.downgrade(settings, "0003") == "0003"

    app = upgraded_app(settings, clock)
    try:
        upgraded = app.extensions["accounts"]
        assert upgraded.migrated_from == "0003"
        response = app.test_client().get(SESSIONS, headers=member.headers)
        assert response.status_code == 200, response.json
        sessions = response.json["sessions"]
        assert sorted(s["current"] for s in sessions) == [False, True]  # and open_account's
        assert all(s["device"] == "Appareil inconnu" for s in sessions)
        ids = [s["session_id"] for s in sessions]
        assert len(set(ids)) == 2 and all(ids)
        token = member.headers["Authorization"].removeprefix("Bearer ")
        assert all(token not in i and token_digest(token) not in i for i in ids)
        rows = upgraded.database.run("SELECT * FROM member_sessions")
        assert all(r["authenticated_at"] == r["created_at"] for r in rows)
        assert all(r["user_agent"] is None for r in rows)
        assert app.test_client().get("/api/v1/me", headers=member.headers).status_code == 200
    finally:
        app.extensions["accounts"].close()


def test_a_session_the_previous_release_opens_after_the_upgrade_gets_its_id(
    client, services, clock
):
    member = open_account(client, services)
    account = services.lifecycle.account_by_identifier(member.identifier)
    now = clock()
    # As the previous release inserts it during a rolling restart: none of the new columns.
    services.database.run(
        "INSERT INTO member_sessions (token_digest, account_id, identifier, temporary,"
        " created_at, last_seen_at, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (token_digest("jeton-de-l-ancienne-version"), str(account.id), member.identifier, 0,
         now.isoformat(), now.isoformat(), (now + timedelta(hours=12)).isoformat()),
    )

    sessions = client.get(SESSIONS, headers=member.headers).json["sessions"]

    assert len(sessions) == 3 and all(s["session_id"] for s in sessions)
    old = services.sessions.find("jeton-de-l-ancienne-version")
    assert old is not None and old.session_id in {s["session_id"] for s in sessions}
    assert old.authenticated_at == now
