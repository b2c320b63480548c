"""A signed-in request moves its session's idle expiry without waiting for the disk on
PostgreSQL, and nothing else on the pooled connection stops waiting for it: a registration or a
sign-in saved after a page on the same connection must still be on disk when acknowledged."""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from tests.helpers import open_account


@pytest.fixture
def database_url(postgres_url: str) -> str:
    return postgres_url


def _settings_of(connection) -> str:
    return connection.execute("SHOW synchronous_commit").fetchone()["synchronous_commit"]


def test_the_condition_makes_only_its_own_statement_commit_without_waiting(services):
    database = services.database
    with database.datastore.get_connection() as connection:
        connection.execute("CREATE TEMP TABLE touched (k int PRIMARY KEY)")
        connection.execute("INSERT INTO touched VALUES (1)")
        rows = connection.execute(
            "UPDATE touched SET k = k WHERE k = 1" + database.without_flush_wait
            + " RETURNING current_setting('synchronous_commit') AS during"
        ).fetchall()
        assert [row["during"] for row in rows] == ["off"]
        assert _settings_of(connection) == "on"
        unmatched = connection.execute(
            "UPDATE touched SET k = k WHERE k = 2" + database.without_flush_wait + " RETURNING k"
        ).fetchall()
        assert unmatched == [] and _settings_of(connection) == "on"


def test_after_signed_in_requests_every_pooled_connection_still_waits_for_the_disk(
    client, services
):
    member = open_account(client, services)
    for _ in range(20):
        assert client.get("/api/v1/me", headers=member.headers).status_code == 200
    pool = services.database.datastore.pool
    opened = pool.get_stats()["pool_size"]
    assert opened >= 1
    with ExitStack() as held:  # every connection the pool has open, each asked in turn
        connections = [held.enter_context(pool.connection()) for _ in range(opened)]
        assert [_settings_of(c) for c in connections] == ["on"] * opened
