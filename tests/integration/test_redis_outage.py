"""A Redis outage, on a private redis-server the test starts and stops (the machine's own is
untouched): while Redis is down a registration answers 503 and records nothing (CONTRACT.md,
"service_unavailable"); the outage also loses what Redis held (no persistence), and the
reconciler enqueues those credentials again, so every acknowledged registration gets its e-mail.
With rate limits on (their counters are in Redis too) the answer is still a 503, never a 500."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import dramatiq
import pytest

from app import create_app
from tests.helpers import DEMO_CSV, HELENE, event_types, free_port, make_settings, read_mail
from workers.checks import Reconciler

ELOISE = {"member_number": "M1000008", "last_name": "Cœurdevey", "first_name": "Éloïse",
          "birth_date": "1990-01-15", "email": "eloise@example.org"}


class PrivateRedis:
    def __init__(self, directory: Path):
        self.port, self.directory = free_port(), directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # a crash: what it held in memory is gone
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is missing: apt-get install redis-server")
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("limits", ["off", "registrations=30/minute"])
def test_registrations_through_a_redis_outage_lose_no_e_mail(
    tmp_path: Path, database_url: str, private_redis: PrivateRedis, clock, limits: str
) -> None:
    settings = make_settings(tmp_path, database_url, ACCOUNTS_REDIS_URL=private_redis.url,
                             ACCOUNTS_RATE_LIMITS=limits)
    app = create_app(settings, clock)
    services = app.extensions["accounts"]
    client = app.test_client()
    try:
        services.directory.import_csv(DEMO_CSV.read_text(encoding="utf-8"))
        assert client.post("/api/v1/registrations", json=HELENE).status_code == 201

        private_redis.stop()
        recorded = len(event_types(services))
        refused = client.post("/api/v1/registrations", json=ELOISE)
        assert refused.status_code == 503, refused.json
        assert refused.json["code"] == "service_unavailable"
        assert len(event_types(services)) == recorded  # nothing recorded
        assert client.get("/readyz").status_code == 503

        private_redis.start()  # back, empty: Hélène's message went with the crash
        assert client.get("/readyz").status_code == 200
        clock.advance(minutes=11)
        services.projections.run_until_idle()
        assert Reconciler(
            services.use_cases.mail, services.support_queue, services.outbox, services.clock
        )() == 1
        assert client.post("/api/v1/registrations", json=ELOISE).status_code == 201

        worker = dramatiq.Worker(services.broker, worker_threads=2, worker_timeout=100)
        worker.start()
        try:
            deadline = time.monotonic() + 30
            while len(read_mail(settings.mail.directory)) < 2:
                assert time.monotonic() < deadline, read_mail(settings.mail.directory)
                time.sleep(0.05)
        finally:
            worker.stop()
        time.sleep(0.5)  # room for a duplicate to show up, were there one
        assert sorted(m["To"] for m in read_mail(settings.mail.directory)) == [
            ELOISE["email"], HELENE["email"]
        ]
    finally:
        services.close()
