"""Hands committed events to the actors that act on them (after commit, never before)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from adapters.queue.actors import Actors
from domain.account import Account
from domain.mail import MailKind, mail_due

log = logging.getLogger(__name__)


class Outbox:
    def __init__(
        self,
        broker: dramatiq.Broker,
        actors: Actors,
        address_of: Callable[[UUID], str] | None = None,
    ):
        self.broker = broker
        self.actors = actors
        # Closure erases the member's address right after this hand-off: the closure notice
        # carries the address in its message, read here while it is still readable.
        self.address_of = address_of
        self.kind = "redis" if isinstance(broker, RedisBroker) else "in-process"
        self._worker: dramatiq.Worker | None = None
        self._lock = threading.Lock()

    def check(self) -> None:
        """Raise when the broker is unreachable, so a request can answer 503 before recording."""
        if isinstance(self.broker, RedisBroker):
            self.broker.client.ping()

    def __call__(self, events: Sequence[Any]) -> None:
        for event in events:
            origin = str(event.originator_id)  # account, registration, reimbursement, request
            if isinstance(event, Account.CredentialsRequested):
                self.enqueue_credentials(origin, event.request_id)
            elif isinstance(event, Account.EmailChangeRequested):
                self.enqueue_verification(origin, event.request_id)
            elif (kind := mail_due(event)) is not None:  # a support request's e-mails too
                if isinstance(event, Account.AccountClosed) and self.address_of is not None:
                    to = self.address_of(event.originator_id)
                    self.enqueue_mail(kind, origin, event.originator_version, to)
                else:
                    self.enqueue_mail(kind, origin, event.originator_version)

    def enqueue_credentials(self, account_id: str, request_id: str) -> None:
        self._send(self.actors.deliver_credentials, account_id, request_id)

    def enqueue_verification(self, account_id: str, request_id: str) -> None:
        self._send(self.actors.deliver_email_verification, account_id, request_id)

    def enqueue_mail(
        self, kind: str, source_id: str, version: int, to: str | None = None
    ) -> None:
        """The e-mail of `kind` (domain/mail.py, whose support kinds SupportMail names alike)
        about the event at `version` of the source's stream; `to` only for a notice whose
        address is about to be erased."""
        if kind == MailKind.NOTICE:
            self._send(self.actors.deliver_notice, source_id, version, to)
        elif kind == MailKind.REJECTION:
            self._send(self.actors.deliver_rejection, source_id)
        elif kind == MailKind.REIMBURSEMENT_ALERT:
            self._send(self.actors.deliver_reimbursement_alert, source_id)
        elif kind in (MailKind.SUPPORT_ACKNOWLEDGEMENT, MailKind.SUPPORT_DECISION):
            self._send(self.actors.deliver_support_email, source_id, version)
        else:
            raise ValueError(f"no actor sends {kind} e-mails")

    def _send(self, actor: dramatiq.Actor, *args: str | int | None) -> None:
        if self.kind == "in-process":
            self.start_in_process_worker()
        try:
            actor.send(*args)
        except Exception:
            # The events are committed: answering an error now would make the client retry
            # what already happened. The work stays findable in the event log.
            log.exception("could not enqueue %s; the work is recorded", actor.actor_name)

    def start_in_process_worker(self, threads: int = 2) -> None:
        with self._lock:
            if self._worker is None:
                # A short poll so that stopping (tests, shutdown) takes milliseconds, not seconds.
                self._worker = dramatiq.Worker(
                    self.broker, worker_threads=threads, worker_timeout=100
                )
                self._worker.start()

    def stop(self) -> None:
        with self._lock:
            if self._worker is not None:
                self._worker.stop()
                self._worker = None
