"""Actors: a few lines each that call the application. They take ids, never secrets."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from uuid import UUID

import dramatiq

from adapters.mail import MailSender, credentials_email
from domain.application import AccountLifecycle

MINUTE_MS = 60_000


@dataclass(frozen=True)
class Actors:
    deliver_credentials: dramatiq.Actor


def declare_actors(
    broker: dramatiq.Broker, lifecycle: AccountLifecycle, mailer: MailSender, mail_from: str
) -> Actors:
    # Retries with backoff from 5 s to 10 min: about 1 h 40 of trying, past the 1 h after which
    # support sees the account as undelivered_email.
    @dramatiq.actor(
        broker=broker,
        actor_name="deliver_credentials",
        queue_name="mail",
        max_retries=14,
        min_backoff=5_000,
        max_backoff=10 * MINUTE_MS,
        time_limit=2 * MINUTE_MS,
    )
    def deliver_credentials(account_id: str, request_id: str) -> None:
        """Issue a fresh temporary password for the request and e-mail it; idempotent."""
        issued = lifecycle.issue_temporary_password(UUID(account_id), request_id)
        if issued is None:
            return  # already sent, superseded, or the account is closed
        message = credentials_email(
            mail_from, issued.email, issued.identifier, issued.temporary_password, issued.reason
        )
        try:
            mailer.send(message)
        except (OSError, smtplib.SMTPException) as error:
            lifecycle.record_credentials_email(UUID(account_id), request_id, type(error).__name__)
            raise
        lifecycle.record_credentials_email(UUID(account_id), request_id)

    return Actors(deliver_credentials=deliver_credentials)
