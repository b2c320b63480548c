"""What the mail worker asks before and records after each e-mail to someone who wrote to
support: the acknowledgement of their request, then the decision (domain/support_request.py
says which event calls for which). A message run twice sends once."""

from __future__ import annotations

from uuid import UUID

from domain.account import Account
from domain.lifecycle import AccountLifecycle, patient, retried
from domain.mail import MailOutcome
from domain.personal_data import ERASED
from domain.ports import Clock
from domain.support_request import SupportMail, requester_address, support_mail_due
from domain.use_cases.views import SupportEmail


class SupportMailDelivery:
    def __init__(self, store: AccountLifecycle, clock: Clock):
        self.store = store
        self.clock = clock

    def email_to_send(self, request_id: UUID, version: int) -> SupportEmail | None:
        """The e-mail about the request's event at `version`, or None: its outcome is
        recorded, the event calls for none, or nobody is left to tell (recorded now)."""
        request = self.store.support_request(request_id)
        if version in request.mailed_versions:
            return None
        # Decided on the event itself, by the rule the outbox enqueued it by.
        [event] = self.store.events.get(request_id, gt=version - 1, lte=version)
        mail = support_mail_due(event)
        if mail is None:
            return None
        to = self._address(request_id, request.account_id)
        if to is None:
            self.record_email(request_id, version, MailOutcome.NO_RECIPIENT)
            return None
        decision = mail is SupportMail.DECISION
        return SupportEmail(
            mail=mail.value, email=to, request_id=request.id, kind=request.kind.value,
            accepted=type(event).__name__ == "SupportRequestAccepted" if decision else None,
            reply=event.reply if decision else None,
        )

    def _address(self, request_id: UUID, account_id: UUID | None) -> str | None:
        """The address the requester gave, else their account's as it is now (an accepted
        e-mail update has just changed it to the one they asked for). An erased member's
        reads ERASED, and then nobody is told. Read from the stored request, not from a
        copy a process may hold: erasure records nothing in the request's own stream."""
        [submitted] = self.store.events.get(request_id, lte=1)
        to = requester_address(submitted.kind, submitted.email, submitted.new_email)
        if to is None and account_id is not None:
            account = self.store.get_or_none(account_id)
            to = account.email if isinstance(account, Account) else None
        return None if to in (None, ERASED) else to

    @patient
    @retried
    def record_email(self, request_id: UUID, version: int, outcome: str) -> None:
        request = self.store.support_request(request_id)
        request.record_email(version, outcome, self.clock())
        self.store.save(request)
