"""The reconciler and the e-mails to someone who wrote to support (issue 18): an
acknowledgement or a decision whose message was lost after the commit (Redis restarted
empty, the broker died) is enqueued again once the contract's 10 minutes have passed, and
sent once; one already sent is never sent again. On SQLite and PostgreSQL, with Redis."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import dramatiq
import pytest
import redis

from app import create_app
from domain.mail import MailKind, mail_due
from domain.support_request import SupportMail, SupportRequest, support_reference
from tests.helpers import DEMO_CSV, bearer, make_settings, read_mail, recorded
from workers.checks import Reconciler

REQUESTER = {"last_name": "Martin", "first_name": "Louise", "email": "louise.m@example.org"}
MESSAGE = "Je ne reçois pas l'e-mail de mes codes d'accès depuis mon inscription."
REPLY = "Votre inscription date d'avant votre adhésion : recommencez-la dès aujourd'hui."
ACKNOWLEDGED = "Votre demande au support technique (référence {})"
ANSWERED = "Réponse du support technique à votre demande (référence {})"


@pytest.fixture
def with_redis(tmp_path: Path, database_url: str, redis_url: str, clock) -> Iterator:
    """The API side with Redis set: no projection thread, no worker of its own."""
    settings = make_settings(tmp_path, database_url, ACCOUNTS_REDIS_URL=redis_url)
    app = create_app(settings, clock)
    services = app.extensions["accounts"]
    services.directory.import_csv(DEMO_CSV.read_text(encoding="utf-8"))
    try:
        yield app.test_client(), services, Reconciler(
            services.use_cases.mail, services.support_queue, services.outbox, services.clock
        )
    finally:
        services.close()


def queued(redis_url: str) -> int:
    return redis.Redis.from_url(redis_url).llen("dramatiq:mail")


def lose_messages(redis_url: str) -> None:
    redis.Redis.from_url(redis_url).flushdb()


def reconcile(services, reconciler: Reconciler) -> int:
    services.projections.run_until_idle()
    return reconciler()


def inbox(services) -> list:
    return read_mail(services.settings.mail.directory)


def work_until(services, done: Callable[[], bool], what: str) -> None:
    """Runs a worker until `done()` and its queue is empty."""
    worker = dramatiq.Worker(services.broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while not done():
            assert time.monotonic() < deadline, f"{what}: not within 30 s"
            time.sleep(0.05)
        worker.join()  # every message run, copies included
    finally:
        worker.stop()


def deliver(services, count: int) -> list:
    work_until(services, lambda: len(inbox(services)) >= count, f"{count} e-mails")
    return inbox(services)


def pending(services) -> list[tuple[str, str, int]]:
    """The pending e-mails, however recent."""
    services.projections.run_until_idle()
    return services.support_queue.pending_mail(services.clock() + timedelta(seconds=1))


def submitted(client) -> str:
    response = client.post("/api/v1/support-requests",
                           json={"kind": "other", **REQUESTER, "message": MESSAGE})
    assert response.status_code == 202, response.json
    return response.json["request_id"]


def rejected(client, services, request_id: str) -> None:
    agent = bearer(services.staff_tokens.create("alice", "support"))
    response = client.post(
        f"/api/v1/support/requests/{request_id}/decision",
        json={"decision": "reject", "note": "Vu avec le service adhésion.", "reply": REPLY},
        headers=agent,
    )
    assert response.status_code == 200, response.json


def outcomes(services, request_id: str) -> list[tuple[int, str]]:
    return [(e.about_version, e.outcome) for e in recorded(services, "SupportEmailSent")
            if str(e.originator_id) == request_id]


def lost_and_reconciled(services, reconciler, redis_url: str, clock, count: int) -> list:
    """The one queued message is lost; enqueued again 10 minutes on, not before; sent; then
    nothing is left to enqueue again."""
    assert queued(redis_url) == 1
    lose_messages(redis_url)
    assert reconcile(services, reconciler) == 0  # too early: a long queue is no lost message
    clock.advance(minutes=11)
    assert reconcile(services, reconciler) == 1
    mails = deliver(services, count)
    clock.advance(minutes=31)
    assert reconcile(services, reconciler) == 0
    assert pending(services) == []
    return mails


def test_the_support_mail_kinds_are_the_requests_own():
    assert MailKind.SUPPORT_ACKNOWLEDGEMENT == SupportMail.ACKNOWLEDGEMENT
    assert MailKind.SUPPORT_DECISION == SupportMail.DECISION


def test_a_lost_acknowledgement_is_sent_once_after_the_reconciler_runs(
    with_redis, redis_url, clock
):
    client, services, reconciler = with_redis
    request_id = submitted(client)
    assert pending(services) == [(MailKind.SUPPORT_ACKNOWLEDGEMENT, request_id, 1)]
    [ack] = lost_and_reconciled(services, reconciler, redis_url, clock, count=1)
    assert ack["To"] == REQUESTER["email"]
    assert ack["Subject"] == ACKNOWLEDGED.format(support_reference(request_id))
    assert outcomes(services, request_id) == [(1, "sent")]


def test_a_lost_decision_is_sent_once_after_the_reconciler_runs(with_redis, redis_url, clock):
    client, services, reconciler = with_redis
    request_id = submitted(client)
    deliver(services, 1)  # the acknowledgement went
    rejected(client, services, request_id)
    [(kind, source, version)] = pending(services)
    assert (kind, source) == (MailKind.SUPPORT_DECISION, request_id)
    [_, answer] = lost_and_reconciled(services, reconciler, redis_url, clock, count=2)
    assert answer["To"] == REQUESTER["email"]
    assert answer["Subject"] == ANSWERED.format(support_reference(request_id))
    assert outcomes(services, request_id) == [(1, "sent"), (version, "sent")]


def test_a_message_that_was_only_slow_is_sent_once_beside_the_reconciler_s_copy(
    with_redis, redis_url, clock
):
    client, services, reconciler = with_redis
    request_id = submitted(client)
    clock.advance(minutes=11)  # nobody ran the queue meanwhile: the reconciler's copy too
    assert reconcile(services, reconciler) == 1
    assert queued(redis_url) == 2
    work_until(services, lambda: queued(redis_url) == 0, "the message and its copy")
    assert len(inbox(services)) == 1
    assert outcomes(services, request_id) == [(1, "sent")]


def test_e_mails_already_sent_are_never_sent_again(with_redis, redis_url, clock):
    client, services, reconciler = with_redis
    request_id = submitted(client)
    deliver(services, 1)
    rejected(client, services, request_id)
    deliver(services, 2)
    assert pending(services) == []
    clock.advance(minutes=11)
    assert reconcile(services, reconciler) == 0
    clock.advance(minutes=31)
    assert reconcile(services, reconciler) == 0
    assert queued(redis_url) == 0 and len(inbox(services)) == 2
    assert [v for v, _ in outcomes(services, request_id)] == [1, 3]


def test_a_request_owed_no_e_mail_is_never_pending():
    # The member's own closure request is confirmed by the page, not by an e-mail.
    request = SupportRequest(
        kind="closure", last_name="Martin", first_name="Louise", message="", member_number=None,
        birth_date=None, identifier=None, email=None, new_email=None, account_id=uuid4(),
        member_key=None, actor="member", timestamp=datetime.now(UTC), acknowledge=False,
    )
    request.accept("alice", "Clôture confirmée.", None, datetime.now(UTC))
    assert [mail_due(e) for e in request.collect_events()] == [None, None]
