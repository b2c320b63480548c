"""A dead database or broker: 503 in the contract's shape, nothing recorded, and recovery."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import DEMO_CSV, event_types, free_port, make_settings

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
