"""Scheduled checks: work that depends on time passing rather than on an event arriving.

APScheduler runs them in the active projection runner (one at a time across machines, by the
runner lock), or in the embedded default's single process (workers/background.py); never in
a CLI command.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING
from uuid import UUID

from apscheduler.schedulers.background import BackgroundScheduler

from adapters.queue.outbox import Outbox
from domain.ports import Clock
from domain.use_cases.closure import Closure
from domain.use_cases.mail_delivery import MailDelivery
from projections.support_queue import SupportQueueView

if TYPE_CHECKING:
    from bootstrap import Services

log = logging.getLogger(__name__)
CHECK_EVERY_SECONDS = 60
ERASURE_GRACE = timedelta(minutes=1)
# The contract's promise: past it, a request no worker has even tried lost its message. Not
# sooner, or a long but healthy queue would get every message twice.
LOST_AFTER = timedelta(minutes=10)
REENQUEUE_EVERY = timedelta(minutes=30)
# An auditor compares the checkpoints they kept with the ones published: one an hour is often
# enough to notice a rewrite quickly, and few enough (24 a day) to keep them all.
CHECKPOINT_EVERY_MINUTES = 60


def flag_overdue_credentials(mail: MailDelivery, queue: SupportQueueView, clock: Clock) -> int:
    """Credentials e-mails the mail server has not accepted an hour after they were asked for
    become CredentialsEmailOverdue events, which put an undelivered_email item in the queue."""
    overdue = queue.overdue_credentials(clock())
    for account_id, request_id in overdue:
        mail.flag_credentials_overdue(UUID(account_id), request_id)
    if overdue:
        log.warning("%d credentials e-mail(s) overdue", len(overdue))
    return len(overdue)


def finish_erasures(closure: Closure, queue: SupportQueueView, clock: Clock) -> int:
    """Closed accounts whose member was not erased a minute after closure (the closing process
    died in between, or its database went away): erase them now."""
    pending = queue.unerased_closures(clock() - ERASURE_GRACE)
    for account_id in pending:
        closure.erase_personal_data(UUID(account_id))
    if pending:
        log.warning("%d closed account(s) erased late", len(pending))
    return len(pending)


class Reconciler:
    """Committed work whose message never ran is enqueued again, 10 minutes on:
    - credentials requests and e-mail changes that no worker has even tried (a worker that
      tried has drawn a password or a code, and its message is retrying);
    - notices, rejection e-mails, reimbursement alerts and the e-mails to someone who wrote
      to support (acknowledgement, decision) whose outcome is not recorded. No
      attempt is recorded for these, so one whose message is retrying gets a copy too. A
      closure notice enqueued again has lost the address its message carried, erased since:
      its actor records that nobody is left to tell, and it is done.
    The actors are idempotent: work done meanwhile is skipped. The same work is enqueued again
    at most every REENQUEUE_EVERY, so a stalled queue is not flooded with copies; after a
    runner failover, once more at worst."""

    def __init__(
        self, mail: MailDelivery, queue: SupportQueueView, outbox: Outbox, clock: Clock
    ):
        self.mail, self.queue, self.outbox, self.clock = mail, queue, outbox, clock
        self._enqueued: dict[str, datetime] = {}

    def __call__(self) -> int:
        now = self.clock()
        # Work enqueued again longer ago than that may be enqueued once more anyway: what is
        # forgotten here is only what no longer holds a copy back (kept, it grew for ever).
        self._enqueued = {k: at for k, at in self._enqueued.items() if now - at < REENQUEUE_EVERY}
        lost = [work for work in self._lost(now - LOST_AFTER) if self._due(work[0], now)]
        for key, enqueue in lost:
            enqueue()
            self._enqueued[key] = now
        if lost:
            log.warning("%d lost message(s) enqueued again", len(lost), extra={"lost": len(lost)})
        return len(lost)

    def _lost(self, before: datetime) -> list[tuple[str, Callable[[], None]]]:
        """The work committed before then that is still undone: a key, and how to enqueue it."""
        return [
            (request_id, partial(self.outbox.enqueue_credentials, account_id, request_id))
            for account_id, request_id in self.queue.pending_credentials(before)
            if self.mail.is_credentials_request_unattempted(UUID(account_id), request_id)
        ] + [
            (request_id, partial(self.outbox.enqueue_verification, account_id, request_id))
            for account_id, request_id in self.queue.pending_verifications(before)
            if self.mail.is_email_verification_unattempted(UUID(account_id), request_id)
        ] + [
            (f"{kind}:{source_id}:{version}",
             partial(self.outbox.enqueue_mail, kind, source_id, version))
            for kind, source_id, version in self.queue.pending_mail(before)
        ]

    def _due(self, key: str, now: datetime) -> bool:
        last = self._enqueued.get(key)
        return last is None or now - last >= REENQUEUE_EVERY


def scheduler(services: Services) -> BackgroundScheduler:
    """The checks, every minute from start; a run still going when the next is due is not
    doubled, and runs missed while the process was busy collapse into one."""
    checks = BackgroundScheduler(
        timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1}
    )
    cases, queue, clock = services.use_cases, services.support_queue, services.clock
    start = datetime.now(UTC)
    for name, job in (
        ("overdue credentials", lambda: flag_overdue_credentials(cases.mail, queue, clock)),
        ("unfinished erasures", lambda: finish_erasures(cases.closure, queue, clock)),
        ("lost messages", Reconciler(cases.mail, queue, services.outbox, clock)),
        ("expired passkey challenges", services.challenges.purge),
    ):
        checks.add_job(job, "interval", seconds=CHECK_EVERY_SECONDS, name=name,
                       next_run_time=start)
    checks.add_job(lambda: services.audit_proofs.publish(clock()), "interval",
                   minutes=CHECKPOINT_EVERY_MINUTES, name="audit checkpoint",
                   next_run_time=start)
    return checks
