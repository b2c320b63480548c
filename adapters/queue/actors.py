"""Actors: a few lines each that call the use cases (mail delivery, claims). They take ids,
never secrets."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

import dramatiq
from dramatiq.middleware import CurrentMessage

from adapters.mail import MailSender
from adapters.mail_messages import MailComposer
from adapters.metrics import observe_email
from adapters.settings import Settings
from domain.mail import MailOutcome
from domain.use_cases.claims import Claims
from domain.use_cases.mail_delivery import MailDelivery
from domain.use_cases.support_mail import SupportMailDelivery

MINUTE_MS = 60_000
# Retries with backoff from 5 s to 10 min: about 1 h 40 of trying, past the 1 h after which
# support sees an account whose credentials did not go out.
RETRIES = {"max_retries": 14, "min_backoff": 5_000, "max_backoff": 10 * MINUTE_MS}
MAIL_ERRORS = (OSError, smtplib.SMTPException)
log = logging.getLogger("accounts.mail")


def sent(mail: str, about: str) -> None:
    """One line per e-mail the server accepted (the request id comes with the job), and its
    delay since the commit that enqueued it."""
    message = CurrentMessage.get_current_message()
    observe_email(mail, "sent", message.message_timestamp if message is not None else None)
    log.info("e-mail sent", extra={"mail": mail, "about": about})


@dataclass(frozen=True)
class Actors:
    deliver_credentials: dramatiq.Actor
    deliver_email_verification: dramatiq.Actor
    deliver_notice: dramatiq.Actor
    deliver_rejection: dramatiq.Actor
    deliver_reimbursement_alert: dramatiq.Actor
    deliver_support_email: dramatiq.Actor


def declare_actors(
    broker: dramatiq.Broker,
    delivery: MailDelivery,
    claims: Claims,
    mailer: MailSender,
    mail_from: str,
    # The e-mails' links; the class attribute is the setting's default.
    portal_url: str = Settings.portal_url,
    support_mail: SupportMailDelivery | None = None,
) -> Actors:
    mail = MailComposer(mail_from, portal_url)
    # Over the same store and clock as the other deliveries, unless the caller wires its own.
    support_mail = support_mail or SupportMailDelivery(delivery.store, delivery.clock)

    def actor(fn):
        return dramatiq.actor(
            fn, broker=broker, queue_name="mail", time_limit=2 * MINUTE_MS, **RETRIES
        )

    @actor
    def deliver_credentials(account_id: str, request_id: str) -> None:
        """Issue a fresh temporary password for the request and e-mail it; idempotent."""
        issued = delivery.issue_temporary_password(UUID(account_id), request_id)
        if issued is None:
            return  # already sent, superseded, or the account is closed
        message = mail.credentials(
            issued.email, issued.identifier, issued.temporary_password, issued.reason
        )
        try:
            mailer.send(message)
        except MAIL_ERRORS as error:
            delivery.record_credentials_email(
                UUID(account_id), request_id, type(error).__name__, issued=issued
            )
            observe_email("credentials", "failed")
            log.warning("e-mail refused", extra={"mail": "credentials", "account_id": account_id,
                                                 "error": type(error).__name__})
            raise
        delivery.record_credentials_email(UUID(account_id), request_id, issued=issued)
        sent("credentials", account_id)

    @actor
    def deliver_email_verification(account_id: str, request_id: str) -> None:
        """A fresh single-use code for the pending e-mail change, to the new address."""
        issued = delivery.issue_email_verification(UUID(account_id), request_id)
        if issued is not None:
            mailer.send(mail.verification(issued.email, issued.code))
            sent("email_verification", account_id)

    @actor
    def deliver_notice(account_id: str, version: int, to: str | None = None) -> None:
        """Tell the member what the event at this version of their account did; once. `to`
        is given when the address is erased by then (closure)."""
        notice = delivery.notice_to_send(UUID(account_id), version, to)
        if notice is None:
            return  # sent already, or nobody left to tell
        mailer.send(mail.notice(notice.email, notice.event_type, notice.locked_until))
        delivery.record_notice(UUID(account_id), version, MailOutcome.SENT)
        sent(f"notice:{notice.event_type}", account_id)

    @actor
    def deliver_rejection(registration_id: str) -> None:
        """Tell the person whose registration support rejected; once."""
        email = delivery.rejection_to_send(UUID(registration_id))
        if email is None:
            return  # sent already, or nobody left to tell
        mailer.send(mail.rejection(email))
        delivery.record_rejection_email(UUID(registration_id), MailOutcome.SENT)
        sent("rejection", registration_id)

    @actor
    def deliver_reimbursement_alert(reimbursement_id: str) -> None:
        """At most one alert per reimbursement: recorded once sent, skipped when recorded."""
        found = claims.reimbursement_alert(UUID(reimbursement_id))
        if found is None:
            return  # sent already, or nobody to send it to (recorded as skipped)
        account_id, alert = found
        mailer.send(mail.reimbursement_alert(
            alert.email, alert.beneficiary_first_name, alert.amount, alert.care_date
        ))
        claims.record_alert_sent(UUID(reimbursement_id), account_id)
        sent("reimbursement_alert", str(account_id))

    return Actors(
        deliver_credentials, deliver_email_verification, deliver_notice, deliver_rejection,
        deliver_reimbursement_alert, support_actor(actor, support_mail, mail, mailer),
    )


def support_actor(
    actor: Callable[[Callable[..., None]], dramatiq.Actor],
    support_mail: SupportMailDelivery,
    mail: MailComposer,
    mailer: MailSender,
) -> dramatiq.Actor:
    @actor
    def deliver_support_email(request_id: str, version: int) -> None:
        """Tell whoever wrote to support that their request is received, or how it was
        decided, as the request's event at this version calls for; once."""
        email = support_mail.email_to_send(UUID(request_id), version)
        if email is None:
            return  # sent already, nothing to say, or nobody to tell
        if email.accepted is None:
            message = mail.support_acknowledgement(email.email, email.request_id, email.kind)
        else:
            message = mail.support_decision(
                email.email, email.request_id, email.kind, email.accepted, email.reply
            )
        mailer.send(message)
        support_mail.record_email(UUID(request_id), version, MailOutcome.SENT)
        sent(email.mail, request_id)

    return deliver_support_email
