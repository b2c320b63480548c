"""The reconciler: a committed credentials request whose message was lost (Redis restarted
empty, an in-process queue's process died) is enqueued again, once the contract's 10 minutes
have passed without any worker trying it; one that a worker tried is left to its retries."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import dramatiq
import pytest
import redis

from app import create_app
from tests.api.test_registrations import HELENE, credentials
from tests.api.test_sign_in import OWN, bearer, change_password, sign_in
from tests.conftest import DEMO_CSV, make_settings, read_mail
from workers.checks import Reconciler


@pytest.fixture
def with_redis(tmp_path: Path, database_url: str, redis_url: str, clock) -> Iterator:
    """The API side with Redis set: no projection thread, no worker of its own."""
    settings = make_settings(tmp_path, database_url, ACCOUNTS_REDIS_URL=redis_url)
    app = create_app(settings, clock)
    services = app.extensions["accounts"]
    services.directory.import_csv(DEMO_CSV.read_text(encoding="utf-8"))
    try:
        yield app, services
    finally:
        services.close()


def queued(redis_url: str) -> int:
    return redis.Redis.from_url(redis_url).llen("dramatiq:mail")


_reconcilers: dict[int, Reconciler] = {}


def reconcile(services) -> int:
    """One reconciler per test's services, as the active runner keeps one."""
    services.projections.run_until_idle()
    reconciler = _reconcilers.setdefault(id(services), Reconciler(
        services.lifecycle, services.support_queue, services.outbox
    ))
    return reconciler()


def deliver(services, count: int = 1) -> list:
    """Runs a worker until `count` e-mails in all were written."""
    worker = dramatiq.Worker(services.broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while len(read_mail(services.settings.mail.directory)) < count:
            assert time.monotonic() < deadline, f"fewer than {count} e-mails within 30 s"
            time.sleep(0.05)
    finally:
        worker.stop()
    return read_mail(services.settings.mail.directory)


def test_a_lost_credentials_message_is_enqueued_again_and_sent(with_redis, redis_url, clock):
    app, services = with_redis
    assert app.test_client().post("/api/v1/registrations", json=HELENE).status_code == 201
    assert queued(redis_url) == 1
    redis.Redis.from_url(redis_url).flushdb()  # Redis restarted without its data

    assert reconcile(services) == 0  # too early: a long queue is no lost message
    clock.advance(minutes=11)
    assert reconcile(services) == 1
    assert queued(redis_url) == 1
    deliver(services)
    [mail] = read_mail(services.settings.mail.directory)
    assert mail["To"] == HELENE["email"] and "Identifiant :" in mail.get_content()
    clock.advance(minutes=11)
    assert reconcile(services) == 0  # sent: nothing left to do


def test_a_request_a_worker_already_tried_is_left_to_its_retries(with_redis, redis_url, clock):
    app, services = with_redis
    assert app.test_client().post("/api/v1/registrations", json=HELENE).status_code == 201
    services.projections.run_until_idle()
    clock.advance(seconds=1)
    [(account_id, request_id)] = services.support_queue.pending_credentials(clock.now)
    # A worker's attempt: a password issued, the mail server refusing (the message retries).
    assert services.lifecycle.issue_temporary_password(UUID(account_id), request_id)
    clock.advance(minutes=30)
    assert reconcile(services) == 0


def test_the_checks_are_scheduled_where_the_projections_run(services, with_redis):
    # `services` is the embedded default (one process): it runs the checks itself...
    jobs = {job.name: job.trigger.interval.total_seconds() for job in services.checks.get_jobs()}
    assert services.checks.running
    assert jobs == {"overdue credentials": 60, "unfinished erasures": 60,
                    "lost messages": 60}
    # ...an API process beside Redis leaves them to the active projection runner.
    _, api = with_redis
    assert not api.checks.running


def test_a_lost_message_is_enqueued_again_at_most_every_half_hour(with_redis, redis_url, clock):
    app, services = with_redis
    assert app.test_client().post("/api/v1/registrations", json=HELENE).status_code == 201
    redis.Redis.from_url(redis_url).flushdb()
    clock.advance(minutes=11)
    assert reconcile(services) == 1
    clock.advance(minutes=1)
    assert reconcile(services) == 0  # enqueued again a minute ago: no worker has run since
    assert queued(redis_url) == 1
    clock.advance(minutes=30)
    assert reconcile(services) == 1


def test_a_lost_email_verification_is_enqueued_again_and_its_code_sent(
    with_redis, redis_url, clock
):
    app, services = with_redis
    client = app.test_client()
    assert client.post("/api/v1/registrations", json=HELENE).status_code == 201
    [mail] = deliver(services)
    identifier, temporary = credentials(mail)
    token = sign_in(client, identifier, temporary).json["token"]
    assert change_password(client, token, temporary, OWN).status_code == 204
    redis.Redis.from_url(redis_url).flushdb()  # the password-change notice is lost too
    asked = client.post("/api/v1/me/email", json={"new_email": "neuve@example.org",
                                                   "password": OWN}, headers=bearer(token))
    assert asked.status_code == 202
    redis.Redis.from_url(redis_url).flushdb()  # and the code's message

    clock.advance(minutes=11)
    assert reconcile(services) == 1
    mails = deliver(services, count=2)
    [code_mail] = [m for m in mails if m["To"] == "neuve@example.org"]
    code = code_mail.get_content().split("Code de vérification : ")[1].split()[0]
    assert client.post("/api/v1/email-verifications", json={"token": code}).status_code == 200
    clock.advance(minutes=11)
    assert reconcile(services) == 0
