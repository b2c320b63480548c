"""Scheduled checks: work that depends on time passing rather than on an event arriving."""

from __future__ import annotations

import logging
from datetime import timedelta
from uuid import UUID

from domain.application import AccountLifecycle
from projections.support_queue import SupportQueueView

log = logging.getLogger(__name__)
ERASURE_GRACE = timedelta(minutes=1)


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
