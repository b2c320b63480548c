"""Scheduled checks: work that depends on time passing rather than on an event arriving.

APScheduler runs them in the active projection runner (one at a time across machines, by the
runner lock), or in the embedded default's single process.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from uuid import UUID

from apscheduler.schedulers.background import BackgroundScheduler

from domain.application import AccountLifecycle
from projections.support_queue import SupportQueueView
from workers.outbox import Outbox

log = logging.getLogger(__name__)
CHECK_EVERY_SECONDS = 60
ERASURE_GRACE = timedelta(minutes=1)
# The contract's promise: past it, a request no worker has even tried lost its message. Not
# sooner, or a long but healthy queue would get every message twice.
LOST_AFTER = timedelta(minutes=10)


def flag_overdue_credentials(lifecycle: AccountLifecycle, queue: SupportQueueView) -> int:
    """Credentials e-mails the mail server has not accepted an hour after they were asked for
    become CredentialsEmailOverdue events, which put an undelivered_email item in the queue."""
    overdue = queue.overdue_credentials(lifecycle.clock())
    for account_id, request_id in overdue:
        lifecycle.flag_credentials_overdue(UUID(account_id), request_id)
    if overdue:
        log.warning("%d credentials e-mail(s) overdue", len(overdue))
    return len(overdue)


def finish_erasures(lifecycle: AccountLifecycle, queue: SupportQueueView) -> int:
    """Closed accounts whose member was not erased a minute after closure (the closing process
    died in between, or its database went away): erase them now."""
    pending = queue.unerased_closures(lifecycle.clock() - ERASURE_GRACE)
    for account_id in pending:
        lifecycle.erase_personal_data(UUID(account_id))
    if pending:
        log.warning("%d closed account(s) erased late", len(pending))
    return len(pending)


def resend_lost_credentials(
    lifecycle: AccountLifecycle, queue: SupportQueueView, outbox: Outbox
) -> int:
    """The reconciler: credentials requests that are committed but whose message never ran
    are enqueued again (the actor is idempotent: a request sent meanwhile is skipped)."""
    lost = [
        (account_id, request_id)
        for account_id, request_id in queue.pending_credentials(lifecycle.clock() - LOST_AFTER)
        if lifecycle.is_credentials_request_unattempted(UUID(account_id), request_id)
    ]
    for account_id, request_id in lost:
        outbox.enqueue_credentials(account_id, request_id)
    if lost:
        log.warning("%d credentials e-mail(s) enqueued again", len(lost), extra={"lost": len(lost)})
    return len(lost)


def scheduler(
    lifecycle: AccountLifecycle, queue: SupportQueueView, outbox: Outbox
) -> BackgroundScheduler:
    """The checks, every minute from start; a run still going when the next is due is not
    doubled, and runs missed while the process was busy collapse into one."""
    checks = BackgroundScheduler(
        timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1}
    )
    start = datetime.now(UTC)
    for name, job in (
        ("overdue credentials", lambda: flag_overdue_credentials(lifecycle, queue)),
        ("unfinished erasures", lambda: finish_erasures(lifecycle, queue)),
        ("lost credentials messages", lambda: resend_lost_credentials(lifecycle, queue, outbox)),
    ):
        checks.add_job(job, "interval", seconds=CHECK_EVERY_SECONDS, name=name,
                       next_run_time=start)
    return checks
