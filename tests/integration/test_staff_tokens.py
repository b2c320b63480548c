"""Staff tokens over their life: expiry, revocation seen by every process, `staff list`, the
"last used" instant, and the console sessions opened with them (SQLite and PostgreSQL)."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest

from adapters.staff_tokens import CONSOLE_LIFETIME, Staff
from domain.credentials import token_digest
from tests.helpers import DEMO_CSV, bearer, database_text
from tests.processes import service_env

REPO = DEMO_CSV.parent.parent
QUEUE = "/api/v1/support/queue"


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def other_app(settings, clock):
    """A second instance of the service on the same database, as another gunicorn process."""
    from app import create_app

    second = create_app(settings, clock=clock)
    yield second
    second.extensions["accounts"].close()


def create(runner, name: str, *options: str) -> str:
    result = runner.invoke(args=["staff", "create", name, *options])
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def refused(response) -> bool:
    return response.status_code == 401 and response.json["code"] == "authentication_required"


# --- expiry ---------------------------------------------------------------------------------


def test_a_one_day_token_works_until_its_day_is_over(runner, client, clock):
    token = create(runner, "alice", "--role", "support", "--expires-in", "1")

    assert client.get(QUEUE, headers=bearer(token)).status_code == 200
    clock.advance(hours=23, minutes=59)
    assert client.get(QUEUE, headers=bearer(token)).status_code == 200
    clock.advance(minutes=1, seconds=1)
    assert refused(client.get(QUEUE, headers=bearer(token)))


def test_a_token_expires_after_ninety_days_by_default(runner, client, clock):
    token = create(runner, "alice", "--role", "support")

    clock.advance(days=89, hours=23)
    assert client.get(QUEUE, headers=bearer(token)).status_code == 200
    clock.advance(hours=1, seconds=1)
    assert refused(client.get(QUEUE, headers=bearer(token)))


# --- revocation -----------------------------------------------------------------------------


def test_revoking_a_name_ends_every_one_of_its_tokens_and_no_other(runner, client):
    first = create(runner, "alice", "--role", "support")
    second = create(runner, "alice", "--role", "auditor")
    bob = create(runner, "bob", "--role", "support")

    result = runner.invoke(args=["staff", "revoke", "alice"])

    assert result.exit_code == 0, result.output
    assert result.stdout == "2 jeton(s) de alice révoqué(s)\n"
    assert refused(client.get(QUEUE, headers=bearer(first)))
    assert refused(client.get("/api/v1/audit/events", headers=bearer(second)))
    assert client.get(QUEUE, headers=bearer(bob)).status_code == 200


def test_revoking_an_unknown_name_exits_one_and_says_so_on_stderr(runner, client):
    token = create(runner, "alice", "--role", "support")

    result = runner.invoke(args=["staff", "revoke", "alicia"])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "alicia" in result.stderr
    assert client.get(QUEUE, headers=bearer(token)).status_code == 200


def test_a_revocation_in_one_instance_is_seen_at_once_by_another(app, other_app):
    token = create(app.test_cli_runner(), "alice", "--role", "support")
    client = app.test_client()
    assert client.get(QUEUE, headers=bearer(token)).status_code == 200

    result = other_app.test_cli_runner().invoke(args=["staff", "revoke", "alice"])

    assert result.exit_code == 0, result.output
    assert refused(client.get(QUEUE, headers=bearer(token)))


def test_a_revocation_from_a_real_command_process_is_seen_by_the_running_service(
    runner, client, database_url, tmp_path
):
    token = create(runner, "alice", "--role", "support")
    assert client.get(QUEUE, headers=bearer(token)).status_code == 200

    result = subprocess.run(
        [".venv/bin/flask", "--app", "app", "staff", "revoke", "alice"],
        cwd=REPO, env=service_env(database_url, f"file://{tmp_path / 'mail'}"),
        capture_output=True, text=True, timeout=120, check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "1 jeton(s) de alice révoqué(s)\n"  # the answer alone
    assert refused(client.get(QUEUE, headers=bearer(token)))


# --- staff list -----------------------------------------------------------------------------


def test_staff_list_shows_each_token_without_the_token_or_its_digest(runner, client, clock):
    created_at = clock.now
    alice = create(runner, "alice", "--role", "support", "--expires-in", "30")
    bob = create(runner, "Bob Martin", "--role", "claims")
    client.get(QUEUE, headers=bearer(alice))
    assert runner.invoke(args=["staff", "revoke", "Bob Martin"]).exit_code == 0

    result = runner.invoke(args=["staff", "list"])

    assert result.exit_code == 0, result.output
    at = created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    in_30_days = (created_at + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    in_90_days = (created_at + timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert result.stdout.splitlines() == [
        f"alice\tsupport\tcreated {at}\texpires {in_30_days}\tlast used {at}\tactive",
        f"Bob Martin\tclaims\tcreated {at}\texpires {in_90_days}\tlast used never\trevoked",
    ]
    for secret in (alice, bob, token_digest(alice), token_digest(bob)):
        assert secret not in result.stdout and secret not in result.stderr


def test_staff_list_says_when_a_token_has_expired(runner, clock):
    create(runner, "alice", "--role", "auditor", "--expires-in", "1")
    clock.advance(days=2)

    line = runner.invoke(args=["staff", "list"]).stdout.strip()

    assert line.startswith("alice\tauditor\t") and line.endswith("\texpired")


# --- last used ------------------------------------------------------------------------------


def test_last_used_is_written_at_most_once_a_minute_per_token(services, client, clock, monkeypatch):
    token = services.staff_tokens.create("alice", "support")
    writes = []
    run = services.database.run

    def counting_run(sql, params=()):
        if sql.startswith("UPDATE staff_tokens"):
            writes.append(sql)
        return run(sql, params)

    monkeypatch.setattr(services.database, "run", counting_run)

    first = clock.now
    client.get(QUEUE, headers=bearer(token))
    clock.advance(seconds=59)
    client.get(QUEUE, headers=bearer(token))
    client.get(QUEUE, headers=bearer(token))
    [listed] = services.staff_tokens.list_tokens()
    assert listed.last_used_at == first
    assert len(writes) == 1

    clock.advance(seconds=2)
    client.get(QUEUE, headers=bearer(token))
    [listed] = services.staff_tokens.list_tokens()
    assert listed.last_used_at == clock.now
    assert len(writes) == 2


# --- console sessions -----------------------------------------------------------------------


def test_a_console_session_is_stored_only_as_a_digest(services):
    token = services.staff_tokens.create("alice", "support")

    session_id = services.staff_tokens.open_console(token)

    dump = database_text(services)
    assert session_id not in dump and token_digest(session_id) in dump
    assert services.staff_tokens.console_staff(session_id) == Staff("alice", "support")


def test_a_closed_console_session_is_gone_for_every_instance(services, other_app):
    token = services.staff_tokens.create("alice", "support")
    session_id = services.staff_tokens.open_console(token)

    other_app.extensions["accounts"].staff_tokens.close_console(session_id)

    assert services.staff_tokens.console_staff(session_id) is None


def test_a_console_session_ends_with_its_token_revoked_elsewhere(services, other_app):
    token = services.staff_tokens.create("alice", "support")
    session_id = services.staff_tokens.open_console(token)

    other_app.extensions["accounts"].staff_tokens.revoke("alice")

    assert services.staff_tokens.console_staff(session_id) is None


def test_a_console_session_ends_when_its_token_expires(services, clock):
    token = services.staff_tokens.create("alice", "support", expires_in_days=1)
    clock.advance(hours=23)
    session_id = services.staff_tokens.open_console(token)

    clock.advance(minutes=59)
    assert services.staff_tokens.console_staff(session_id) == Staff("alice", "support")
    clock.advance(minutes=1, seconds=1)  # the token has expired; the session is 1 h old
    assert services.staff_tokens.console_staff(session_id) is None


def test_a_console_session_ends_after_twelve_hours_however_long_its_token_lives(services, clock):
    session_id = services.staff_tokens.open_console(services.staff_tokens.create("bob", "support"))

    clock.advance(hours=11, minutes=59)
    assert services.staff_tokens.console_staff(session_id) == Staff("bob", "support")
    clock.advance(minutes=1, seconds=1)
    assert services.staff_tokens.console_staff(session_id) is None
    assert timedelta(hours=12) == CONSOLE_LIFETIME
