"""The e-mails that events call for without a request of their own (credentials and e-mail
verifications have one), and how each ends.

`mail_due` is the one rule: the outbox enqueues what it names, and the support queue keeps it
as pending mail, which the reconciler reads, until the outcome is recorded: NoticeSent,
RejectionEmailSent, ReimbursementAlertSent, ReimbursementAlertSkipped or SupportEmailSent.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class MailKind(StrEnum):
    NOTICE = "notice"  # what an event did to the member's account
    REJECTION = "rejection"  # support rejected the registration
    REIMBURSEMENT_ALERT = "reimbursement_alert"
    # A support request's e-mails to the requester: the values of domain/support_request.py's
    # SupportMail, so the outbox sends either name with the same actor.
    SUPPORT_ACKNOWLEDGEMENT = "support_acknowledgement"
    SUPPORT_DECISION = "support_decision"


class MailOutcome(StrEnum):
    SENT = "sent"  # the mail server accepted it
    NO_RECIPIENT = "no_recipient"  # the address was erased before the e-mail could go


# By event class qualname, as domain/personal_data.py names events: the aggregates' modules
# import this one, so it cannot import them.
MAIL_EVENTS: dict[str, MailKind] = {
    "Account.AccountLocked": MailKind.NOTICE,
    "Account.PasswordChanged": MailKind.NOTICE,
    "Account.AccountClosed": MailKind.NOTICE,
    "Account.EmailChanged": MailKind.NOTICE,
    "Account.PasskeyAdded": MailKind.NOTICE,
    "Account.PasskeyRemoved": MailKind.NOTICE,
    "Enrollment.IdentityRejected": MailKind.REJECTION,
    "Reimbursement.ReimbursementRecorded": MailKind.REIMBURSEMENT_ALERT,
}
# E-mail changes the old address is told of; a restarted registration's typo is not one.
NOTIFIED_CHANGES = frozenset({"member", "recovery", "support"})


def mail_due(event: Any) -> MailKind | None:
    """The e-mail this event calls for, about itself (its stream and version), if any."""
    name = type(event).__qualname__
    if name.startswith("SupportRequest."):
        # Whether the requester is owed one is the request's own rule, in one place; that
        # module imports this one (MailOutcome), hence the import here.
        from domain.support_request import support_mail_due  # noqa: PLC0415

        mail = support_mail_due(event)
        return MailKind(mail.value) if mail is not None else None
    if name == "Account.EmailChanged" and event.reason not in NOTIFIED_CHANGES:
        return None
    if name == "Account.RecoveryRequested":
        # No e-mail can let in a member who requires a passkey: they are told what can.
        return MailKind.NOTICE if event.outcome == "passkey_required" else None
    return MAIL_EVENTS.get(name)
