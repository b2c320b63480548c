"""A dead database or broker: 503 in the contract's shape, nothing recorded, and recovery."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from tests.helpers import DEMO_CSV, PG_HOST, PG_PORT, PG_USER, event_types, free_port, make_settings

HELENE = {
    "member_number": "M1000001", "last_name": "Dupré-Lefèvre", "first_name": "Hélène",
    "birth_date": "1978-04-12", "email": "helene@example.org",
}


def test_a_registration_while_postgresql_is_unreachable_answers_503_and_recovers(proxied_app):
    app, proxy = proxied_app
    client = app.test_client()
    proxy.cut()
    response = client.post("/api/v1/registrations", json=HELENE)
    assert response.status_code == 503
    assert response.json["code"] == "service_unavailable" and response.json["message"]
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "database" in ready.json["errors"]
    proxy.restore()
    services = app.extensions["accounts"]
    assert event_types(services) == []  # nothing was recorded during the outage
    assert client.get("/readyz").status_code == 200
    assert client.post("/api/v1/registrations", json=HELENE).json["status"] == "accepted"


def test_a_registration_while_redis_is_unreachable_answers_503_and_records_nothing(
    tmp_path: Path, database_url: str
):
    from app import create_app

    settings = make_settings(
        tmp_path, database_url, ACCOUNTS_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"
    )
    app = create_app(settings)
    services = app.extensions["accounts"]
    try:
        services.directory.import_csv(DEMO_CSV.read_text(encoding="utf-8"))
        client = app.test_client()
        response = client.post("/api/v1/registrations", json=HELENE)
        assert response.status_code == 503 and response.json["code"] == "service_unavailable"
        assert event_types(services) == []
        ready = client.get("/readyz")
        assert ready.status_code == 503 and list(ready.json["errors"]) == ["broker"]
    finally:
        services.close()


def test_readiness_reports_the_store_and_the_broker(client):
    body = client.get("/readyz").json
    assert body["status"] == "ready" and body["broker"] == "in-process"
    assert client.get("/healthz").json == {"status": "ok"}


def test_connections_postgresql_ended_while_idle_are_not_lent_to_the_next_request(
    tmp_path: Path, postgres_url: str
):
    """A restart of PostgreSQL ends every pooled connection; the pool's check before lending
    (adapters.database.lent_connection_check, no round trip on a live one) must see it, so
    the first request afterwards succeeds instead of answering 503 for each dead connection."""
    from app import create_app

    app = create_app(make_settings(tmp_path, postgres_url))
    services = app.extensions["accounts"]
    try:
        services.directory.import_csv(DEMO_CSV.read_text(encoding="utf-8"))
        client = app.test_client()
        pool = services.database.datastore.pool
        # Fill the pool with idle connections, then end them all as a restart would.
        with pool.connection(), pool.connection(), pool.connection():
            pass
        assert pool.get_stats()["pool_available"] >= 3
        name = urlsplit(postgres_url).path.lstrip("/")
        backends = "FROM pg_stat_activity WHERE datname = %s"
        with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres",
                             autocommit=True) as admin:
            ended = admin.execute(f"SELECT count(pg_terminate_backend(pid)) {backends}", (name,))
            assert ended.fetchone()[0] >= 3
            # pg_terminate_backend only signals: a restart's requests come once they are gone.
            deadline = time.monotonic() + 10
            while admin.execute(f"SELECT count(*) {backends}", (name,)).fetchone()[0]:
                assert time.monotonic() < deadline, "the backends outlived their termination"
                time.sleep(0.05)
        for _ in range(3):  # as many requests as dead connections: none of them may fail
            assert client.get("/readyz").status_code == 200
        response = client.post("/api/v1/registrations", json=HELENE)
        assert response.status_code == 201 and response.json["status"] == "accepted"
    finally:
        services.close()
