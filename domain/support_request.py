"""SupportRequest: what someone asks the support desk, how an agent decided it, and the
e-mails that tell the requester (an acknowledgement, then the decision where nothing else
tells them)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.decision_reasons import checked_reason
from domain.errors import AlreadyDecidedError, FieldError, InvalidTransitionError
from domain.mail import MailOutcome

# An agent's reply is written for the requester, like their message, and bounded alike.
REPLY_MAX_LENGTH = 2000
CLOSURE_HAS_NO_REPLY = (
    "Une clôture acceptée ne comporte pas de réponse : l'avis de clôture est envoyé au membre."
)
SYSTEM = "system:mailer"


class RequestKind(StrEnum):
    EMAIL_UPDATE = "email_update"
    CLOSURE = "closure"
    OTHER = "other"


class RequestStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class SupportMail(StrEnum):
    """The e-mails a request's events call for, to the requester."""

    ACKNOWLEDGEMENT = "support_acknowledgement"
    DECISION = "support_decision"


def support_reference(request_id: UUID | str) -> str:
    """The short reference a requester quotes (« 3F1C1A52 »): the request id's first 8 hex
    digits, upper-case. Not unique on its own: support tells two apart by the requester."""
    return UUID(str(request_id)).hex[:8].upper()


def requester_address(kind: str, email: str | None, new_email: str | None) -> str | None:
    """Where the requester reads their e-mail, as they gave it: someone asking for a new
    address cannot read the old one, so an e-mail update is answered at the new one."""
    if kind == RequestKind.EMAIL_UPDATE and new_email:
        return new_email
    return email or None


def _decided_without_reply(state: dict[str, Any]) -> None:
    """A decision stored before replies (v1): none, and nobody e-mailed, so a replay sends
    nothing now."""
    state["reply"] = None
    state["email_requester"] = False


def _decided_without_reason(state: dict[str, Any]) -> None:
    """A decision stored before reasons (v2) gave none."""
    state["reason"] = None


class SupportRequest(Aggregate):
    class SupportRequestSubmitted(Aggregate.Created):
        """v2 adds `acknowledge`: whether the requester is e-mailed an acknowledgement. A
        request stored before acknowledgements existed was never promised one."""

        class_version = 2
        kind: str
        last_name: str
        first_name: str
        message: str
        member_number: str | None
        birth_date: date | None
        identifier: str | None
        email: str | None
        new_email: str | None
        account_id: UUID | None
        member_key: UUID | None
        actor: str
        acknowledge: bool

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["acknowledge"] = False

    class SupportRequestAccepted(Aggregate.Event):
        """v2 adds the agent's `reply` to the requester and `email_requester`: whether the
        decision is e-mailed to them. A decision stored before either existed had no reply
        and was e-mailed to nobody, so a replay never sends it now. v3 adds `reason`, a code
        of domain/decision_reasons.py: stored in clear, unlike the note, so it still reads
        once the member is erased."""

        class_version = 3
        agent: str
        note: str
        reason: str | None
        new_email: str | None
        reply: str | None
        email_requester: bool
        actor: str

        upcast_v1_v2 = staticmethod(_decided_without_reply)
        upcast_v2_v3 = staticmethod(_decided_without_reason)

    class SupportRequestRejected(Aggregate.Event):
        """v2 and v3: as SupportRequestAccepted."""

        class_version = 3
        agent: str
        note: str
        reason: str | None
        reply: str | None
        email_requester: bool
        actor: str

        upcast_v1_v2 = staticmethod(_decided_without_reply)
        upcast_v2_v3 = staticmethod(_decided_without_reason)

    @event(SupportRequestSubmitted)
    def __init__(
        self,
        kind: str,
        last_name: str,
        first_name: str,
        message: str,
        member_number: str | None,
        birth_date: date | None,
        identifier: str | None,
        email: str | None,
        new_email: str | None,
        account_id: UUID | None,
        member_key: UUID | None,
        actor: str,
        timestamp: datetime,
        # The member's own closure request, made in their space, is confirmed by the page.
        acknowledge: bool = False,
    ):
        self.kind = RequestKind(kind)
        self.last_name = last_name
        self.first_name = first_name
        self.message = message
        self.member_number = member_number
        self.birth_date = birth_date
        self.identifier = identifier
        self.email = email
        self.new_email = new_email
        self.account_id = account_id
        self.member_key = member_key
        self.acknowledge = acknowledge
        # Kept apart from new_email, which an accepted e-mail update overwrites.
        self.reply_to = requester_address(kind, email, new_email)
        self.status = RequestStatus.OPEN
        self.decided_at: datetime | None = None
        self.agent: str | None = None
        self.note: str | None = None
        self.reason: str | None = None
        self.reply: str | None = None
        self.mailed_versions: list[int] = []  # the events whose e-mail has its outcome

    @property
    def reachable(self) -> bool:
        """Whether an e-mail can find the requester: an address they gave, or their account's."""
        return self.reply_to is not None or self.account_id is not None

    def accept(
        self, agent: str, note: str, new_email: str | None, at: datetime,
        reply: str | None = None, reason: str | None = None,
    ) -> None:
        self._check_open()
        reason = checked_reason(self.kind.value, "accept", reason)
        if self.kind is not RequestKind.OTHER and self.account_id is None:
            raise InvalidTransitionError("no account to act on")
        if self.kind is RequestKind.EMAIL_UPDATE and not (new_email or self.new_email):
            raise InvalidTransitionError("no new e-mail")
        reply = self.acceptable_reply(reply)
        # An accepted e-mail update sends credentials to the new address and a notice to the
        # old one, and an accepted closure its notice: the decision itself tells only of the
        # rest, and of a reply.
        told = self.kind is RequestKind.OTHER or reply is not None
        self.support_request_accepted(
            agent=agent, note=note, reason=reason, new_email=new_email or self.new_email,
            reply=reply, email_requester=told and self.reachable, actor=f"support:{agent}",
            timestamp=at,
        )

    def acceptable_reply(self, reply: str | None) -> str | None:
        """The reply an acceptance would record (None for a blank one), or why there can be
        none; checked alone by the use case that accepts a closure (closure.py)."""
        self._check_open()
        reply = _checked_reply(reply)
        if self.kind is RequestKind.CLOSURE and reply is not None:
            # The closure notice is the answer, and the member's data, a reply included, is
            # erased with the closure: it could never be read.
            raise FieldError("reply", CLOSURE_HAS_NO_REPLY)
        return reply

    def reject(
        self, agent: str, note: str, at: datetime, reply: str | None = None,
        reason: str | None = None,
    ) -> None:
        self._check_open()
        reason = checked_reason(self.kind.value, "reject", reason)
        reply = _checked_reply(reply)
        self.support_request_rejected(
            agent=agent, note=note, reason=reason, reply=reply, email_requester=self.reachable,
            actor=f"support:{agent}", timestamp=at,
        )

    def record_email(self, about_version: int, outcome: str, at: datetime) -> None:
        """How the e-mail about the event at `about_version` ended; once per event."""
        outcome = MailOutcome(outcome)
        if not 1 <= about_version <= self.version:
            raise ValueError(f"no event {about_version} to e-mail about")
        if about_version not in self.mailed_versions:
            self.support_email_sent(
                about_version=about_version, outcome=outcome.value, actor=SYSTEM, timestamp=at
            )

    def _check_open(self) -> None:
        if self.status is not RequestStatus.OPEN:
            raise AlreadyDecidedError(self.status)

    @event(SupportRequestAccepted)
    def support_request_accepted(
        self, agent: str, note: str, reason: str | None, new_email: str | None,
        reply: str | None, email_requester: bool, actor: str, timestamp: datetime,
    ) -> None:
        self.status = RequestStatus.ACCEPTED
        self.new_email = new_email
        self.agent, self.note, self.reply, self.decided_at = agent, note, reply, timestamp
        self.reason = reason

    @event(SupportRequestRejected)
    def support_request_rejected(
        self, agent: str, note: str, reason: str | None, reply: str | None,
        email_requester: bool, actor: str, timestamp: datetime,
    ) -> None:
        self.status = RequestStatus.REJECTED
        self.agent, self.note, self.reply, self.decided_at = agent, note, reply, timestamp
        self.reason = reason

    @event("SupportEmailSent")
    def support_email_sent(
        self, about_version: int, outcome: str, actor: str, timestamp: datetime
    ) -> None:
        self.mailed_versions.append(about_version)


def _checked_reply(reply: str | None) -> str | None:
    """A blank reply is none; the schemas refuse control characters before it gets here."""
    if reply is None or not reply.strip():
        return None
    if len(reply) > REPLY_MAX_LENGTH:
        raise FieldError("reply", f"Entre 1 et {REPLY_MAX_LENGTH} caractères.")
    return reply


# By event class qualname, as domain/mail.py names events.
_DECISIONS = frozenset({"SupportRequest.SupportRequestAccepted",
                        "SupportRequest.SupportRequestRejected"})


def support_mail_due(event: Any) -> SupportMail | None:
    """The e-mail to the requester this event calls for, about itself, if any: the one rule
    the outbox enqueues by and the mail worker checks again."""
    name = type(event).__qualname__
    if name == "SupportRequest.SupportRequestSubmitted":
        return SupportMail.ACKNOWLEDGEMENT if event.acknowledge else None
    if name in _DECISIONS:
        return SupportMail.DECISION if event.email_requester else None
    return None
