"""The reconciler: committed work whose message was lost (Redis restarted empty, an in-process
queue's process died) is enqueued again once the contract's 10 minutes have passed: a
credentials request or an e-mail change no worker tried (one a worker tried is left to its
retries), and a notice, a rejection e-mail or a reimbursement alert whose outcome is not
recorded. Each of those ends with one outcome event, so running its actor twice sends once."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import dramatiq
import pytest
import redis

from app import create_app
from tests.helpers import (
    DEMO_CSV,
    FEED,
    HELENE,
    OWN,
    bearer,
    change_password,
    credentials,
    event_types,
    feed_item,
    make_settings,
    read_mail,
    recorded,
    sign_in,
    text_of,
)
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
        services.use_cases.mail, services.support_queue, services.outbox, services.clock
    ))
    return reconciler()


def work_until(services, done: Callable[[], bool], what: str) -> None:
    """Runs a worker until `done()`; the job in hand is finished when it stops."""
    worker = dramatiq.Worker(services.broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while not done():
            assert time.monotonic() < deadline, f"{what}: not within 30 s"
            time.sleep(0.05)
    finally:
        worker.stop()


def inbox(services) -> list:
    return read_mail(services.settings.mail.directory)


def deliver(services, count: int = 1) -> list:
    """Runs a worker until `count` e-mails in all were written."""
    work_until(services, lambda: len(inbox(services)) >= count, f"{count} e-mails")
    return inbox(services)


def lose_messages(redis_url: str) -> None:
    redis.Redis.from_url(redis_url).flushdb()  # Redis restarted without its data


def lost_and_reconciled(services, redis_url: str, clock, count: int = 1) -> list:
    """The one queued message is lost; the reconciler enqueues it again once 10 minutes have
    passed, not before; a worker runs it until `count` e-mails in all were written, and then
    nothing is left to enqueue again. Returns the e-mails."""
    assert queued(redis_url) == 1
    lose_messages(redis_url)
    assert reconcile(services) == 0  # too early: a long queue is no lost message
    clock.advance(minutes=11)
    assert reconcile(services) == 1
    mails = deliver(services, count)
    clock.advance(minutes=31)
    assert reconcile(services) == 0  # done: nothing pending
    return mails


def run_twice(services, kind: str, outcome: str, mails: int) -> None:
    """The actor of the one pending e-mail of that kind, run for its message and for a copy of
    it (the reconciler's, say): `mails` e-mails in all, one outcome event, nothing pending."""
    [(source_id, version)] = pending(services, kind)
    actors = services.actors
    run = {
        "notice": lambda: actors.deliver_notice(source_id, version),
        "rejection": lambda: actors.deliver_rejection(source_id),
        "reimbursement_alert": lambda: actors.deliver_reimbursement_alert(source_id),
    }[kind]
    run()
    run()
    assert len(inbox(services)) == mails
    assert event_types(services).count(outcome) == 1
    assert pending(services, kind) == []


def signed_in(client, services) -> tuple[str, str]:
    """Hélène registers and signs in with her credentials: (temporary password, token)."""
    assert client.post("/api/v1/registrations", json=HELENE).status_code == 201
    [welcome] = deliver(services)
    identifier, temporary = credentials(welcome)
    return temporary, sign_in(client, identifier, temporary).json["token"]


def member(client, services) -> str:
    """Hélène with her own password (its notice sent): her session token."""
    temporary, token = signed_in(client, services)
    assert change_password(client, token, temporary, OWN).status_code == 204
    deliver(services, count=2)
    return token


def pending(services, kind: str) -> list[tuple[str, int]]:
    """(source_id, version) of the e-mails of that kind still pending, however recent."""
    services.projections.run_until_idle()
    soon = services.clock() + timedelta(seconds=1)
    return [(source, version) for k, source, version in services.support_queue.pending_mail(soon)
            if k == kind]


def rejected_registration(client, services) -> str:
    """A registration whose names do not match, rejected by support: its id."""
    registered = client.post("/api/v1/registrations", json={**HELENE, "first_name": "Hélèna"})
    assert registered.json["status"] == "identity_review"
    registration = registered.json["registration_id"]
    decided = client.post(
        f"/api/v1/support/registrations/{registration}/decision",
        json={"decision": "reject", "note": "Homonyme."}, headers=support(services),
    )
    assert decided.status_code == 200, decided.json
    return registration


def support(services) -> dict[str, str]:
    return bearer(services.staff_tokens.create("alice", "support"))


def reimbursed(client, services) -> None:
    """The claims feed records a reimbursement of Zoé's, on Hélène's contract."""
    claims = bearer(services.staff_tokens.create("flux-sante", "claims"))
    assert client.post(FEED, json=feed_item(), headers=claims).status_code == 202


def subscribed(client, services) -> None:
    token = member(client, services)
    alerts = client.put("/api/v1/me/alerts", json={"reimbursements": True}, headers=bearer(token))
    assert alerts.status_code == 200, alerts.json


def test_a_lost_credentials_message_is_enqueued_again_and_sent(with_redis, redis_url, clock):
    app, services = with_redis
    assert app.test_client().post("/api/v1/registrations", json=HELENE).status_code == 201
    [mail] = lost_and_reconciled(services, redis_url, clock)
    assert mail["To"] == HELENE["email"] and "Identifiant :" in text_of(mail)


def test_a_request_a_worker_already_tried_is_left_to_its_retries(with_redis, redis_url, clock):
    app, services = with_redis
    assert app.test_client().post("/api/v1/registrations", json=HELENE).status_code == 201
    services.projections.run_until_idle()
    clock.advance(seconds=1)
    [(account_id, request_id)] = services.support_queue.pending_credentials(clock.now)
    # A worker's attempt: a password issued, the mail server refusing (the message retries).
    assert services.use_cases.mail.issue_temporary_password(UUID(account_id), request_id)
    clock.advance(minutes=30)
    assert reconcile(services) == 0


def test_the_checks_are_scheduled_where_the_projections_run(settings, clock, with_redis):
    # The embedded default (one process) runs the checks itself, from its first request: the
    # CLI commands build this same app and must start nothing...
    app = create_app(settings, clock)
    try:
        background = app.extensions["accounts.background"]
        assert background.checks is None and not app.extensions["accounts"].projections.running
        assert app.test_client().get("/healthz").status_code == 200
        jobs = {job.name: job.trigger.interval.total_seconds()
                for job in background.checks.get_jobs()}
        assert background.checks.running
        assert jobs == {"overdue credentials": 60, "unfinished erasures": 60,
                        "lost messages": 60, "expired passkey challenges": 60,
                        "audit checkpoint": 3600}
    finally:
        app.extensions["accounts"].close()
    assert not background.checks.running
    # ...an API process beside Redis leaves them to the active projection runner.
    api_app, _ = with_redis
    assert "accounts.background" not in api_app.extensions


def test_a_lost_message_is_enqueued_again_at_most_every_half_hour(with_redis, redis_url, clock):
    app, services = with_redis
    assert app.test_client().post("/api/v1/registrations", json=HELENE).status_code == 201
    lose_messages(redis_url)
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
    temporary, token = signed_in(client, services)
    assert change_password(client, token, temporary, OWN).status_code == 204
    lose_messages(redis_url)  # the password-change notice is lost too
    asked = client.post("/api/v1/me/email", json={"new_email": "neuve@example.org",
                                                   "password": OWN}, headers=bearer(token))
    assert asked.status_code == 202
    lose_messages(redis_url)  # and the code's message

    clock.advance(minutes=11)
    assert reconcile(services) == 2  # the code, and the notice
    mails = deliver(services, count=3)
    [code_mail] = [m for m in mails if m["To"] == "neuve@example.org"]
    code = text_of(code_mail).split("Code de vérification : ")[1].split()[0]
    assert client.post("/api/v1/email-verifications", json={"token": code}).status_code == 200
    deliver(services, count=4)  # the old address is told of the change
    clock.advance(minutes=11)
    assert reconcile(services) == 0


# Notices, rejection e-mails and reimbursement alerts.


def test_a_lost_notice_is_enqueued_again_and_sent_once(with_redis, redis_url, clock):
    app, services = with_redis
    client = app.test_client()
    temporary, token = signed_in(client, services)
    assert change_password(client, token, temporary, OWN).status_code == 204
    [_, notice] = lost_and_reconciled(services, redis_url, clock, count=2)
    assert notice["To"] == HELENE["email"]
    assert notice["Subject"] == "Votre mot de passe de l'Espace Client a été modifié"
    [sent] = recorded(services, "NoticeSent")
    assert (sent.outcome, sent.actor) == ("sent", "system:mailer")


def test_the_notice_actor_run_twice_sends_once(with_redis, redis_url, clock):
    app, services = with_redis
    client = app.test_client()
    temporary, token = signed_in(client, services)
    assert change_password(client, token, temporary, OWN).status_code == 204
    run_twice(services, "notice", "NoticeSent", mails=2)  # the credentials, one notice


def test_a_closure_notice_lost_with_the_address_erased_ends_without_recipient_once(
    with_redis, redis_url, clock
):
    app, services = with_redis
    client = app.test_client()
    token = member(client, services)
    closure = client.post("/api/v1/me/closure", json={"password": OWN}, headers=bearer(token))
    assert closure.status_code == 202, closure.json
    decided = client.post(
        f"/api/v1/support/requests/{closure.json['request_id']}/decision",
        json={"decision": "accept", "note": "Clôture confirmée."}, headers=support(services),
    )
    assert decided.status_code == 200, decided.json
    assert queued(redis_url) == 1  # the closure notice, carrying the address erased since
    lose_messages(redis_url)

    clock.advance(minutes=11)
    assert reconcile(services) == 1
    [(_, closed_version)] = pending(services, "notice")
    work_until(services, lambda: pending(services, "notice") == [], "the closure notice")
    assert len(inbox(services)) == 2  # the credentials and the password's notice, no more
    outcomes = {e.about_version: e.outcome for e in recorded(services, "NoticeSent")}
    assert outcomes[closed_version] == "no_recipient"
    clock.advance(minutes=31)
    assert reconcile(services) == 0  # settled: never enqueued again


def test_a_lost_rejection_email_is_enqueued_again_and_sent_once(with_redis, redis_url, clock):
    app, services = with_redis
    rejected_registration(app.test_client(), services)
    [rejection] = lost_and_reconciled(services, redis_url, clock)
    assert rejection["To"] == HELENE["email"]
    assert rejection["Subject"] == "Votre demande d'inscription à l'Espace Client"
    [sent] = recorded(services, "RejectionEmailSent")
    assert sent.outcome == "sent"


def test_the_rejection_actor_run_twice_sends_once(with_redis, redis_url, clock):
    app, services = with_redis
    rejected_registration(app.test_client(), services)
    run_twice(services, "rejection", "RejectionEmailSent", mails=1)


def test_a_lost_reimbursement_alert_is_enqueued_again_and_sent_once(
    with_redis, redis_url, clock
):
    app, services = with_redis
    client = app.test_client()
    subscribed(client, services)
    reimbursed(client, services)
    alert = lost_and_reconciled(services, redis_url, clock, count=3)[-1]
    assert alert["To"] == HELENE["email"] and alert["Subject"] == "Nouveau remboursement santé"
    assert event_types(services).count("ReimbursementAlertSent") == 1


def test_the_alert_actor_run_twice_sends_once(with_redis, redis_url, clock):
    app, services = with_redis
    client = app.test_client()
    subscribed(client, services)
    reimbursed(client, services)
    # The credentials, the password's notice, one alert.
    run_twice(services, "reimbursement_alert", "ReimbursementAlertSent", mails=3)


def test_a_reimbursement_for_an_unsubscribed_member_ends_skipped_with_nothing_pending(
    with_redis, redis_url, clock
):
    app, services = with_redis
    client = app.test_client()
    signed_in(client, services)  # an account, alerts off as they start
    reimbursed(client, services)
    work_until(services, lambda: pending(services, "reimbursement_alert") == [], "the skip")
    [skipped] = recorded(services, "ReimbursementAlertSkipped")
    assert (skipped.reason, skipped.actor) == ("not_subscribed", "system:alerts")
    assert len(inbox(services)) == 1  # the credentials only
    clock.advance(minutes=11)
    assert reconcile(services) == 0
