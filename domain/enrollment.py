"""Enrollment: one registration attempt ("Activer mon compte") and how it was decided."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.decision_reasons import checked_reason
from domain.errors import AlreadyDecidedError, InvalidTransitionError
from domain.mail import MailOutcome
from domain.states import EnrollmentStatus, check_transition

SYSTEM = "system:registration"
REVIEW = "identity_review"  # the support queue's kind, by which decision_reasons.py lists


def _decided_without_reason(state: dict[str, Any]) -> None:
    """A decision stored before reasons (v1) gave none."""
    state["reason"] = None


class Enrollment(Aggregate):
    class IdentityApproved(Aggregate.Event):
        """v2 adds `reason`, a code of domain/decision_reasons.py: stored in clear, unlike the
        note, so it still reads once the member is erased."""

        class_version = 2
        agent: str
        note: str
        reason: str | None
        account_id: UUID
        actor: str

        upcast_v1_v2 = staticmethod(_decided_without_reason)

    class IdentityRejected(Aggregate.Event):
        """v2: as IdentityApproved."""

        class_version = 2
        agent: str
        note: str
        reason: str | None
        actor: str

        upcast_v1_v2 = staticmethod(_decided_without_reason)

    @event("RegistrationRequested")
    def __init__(
        self,
        member_number: str,
        member_key: UUID,
        last_name: str,
        first_name: str,
        birth_date: date,
        email: str,
        secret_question: str | None,
        secret_answer_hash: str | None,
        actor: str,
        timestamp: datetime,
    ):
        self.member_number = member_number
        self.member_key = member_key
        self.last_name = last_name
        self.first_name = first_name
        self.birth_date = birth_date
        self.email = email
        self.secret_question = secret_question
        self.secret_answer_hash = secret_answer_hash
        self.status = EnrollmentStatus.REQUESTED
        self.first_answer: EnrollmentStatus | None = None
        self.reason: str | None = None
        self.account_id: UUID | None = None
        self.decided_at: datetime | None = None
        self.decision_reason: str | None = None  # support's, apart from a refusal's `reason`
        self.directory_names: dict[str, str] | None = None
        self.rejection_email: str | None = None  # how the rejection e-mail ended

    # Commands: guard, then trigger. The decorated methods only assign.

    def refuse(self, reason: str, at: datetime) -> None:
        check_transition(self.status, EnrollmentStatus.REFUSED)
        self.registration_refused(reason=reason, actor=SYSTEM, timestamp=at)

    def match_identity(self, account_id: UUID, at: datetime) -> None:
        check_transition(self.status, EnrollmentStatus.ACCEPTED)
        self.identity_matched(account_id=account_id, actor=SYSTEM, timestamp=at)

    def flag_identity_mismatch(self, directory_names: dict[str, str], at: datetime) -> None:
        check_transition(self.status, EnrollmentStatus.IDENTITY_REVIEW)
        declared = {"last_name": self.last_name, "first_name": self.first_name}
        self.identity_mismatch_flagged(
            member_number=self.member_number, member_key=self.member_key, declared=declared,
            directory=directory_names,
            actor=SYSTEM, timestamp=at,
        )

    def approve(
        self, agent: str, note: str, account_id: UUID, at: datetime, reason: str | None = None
    ) -> None:
        self._check_undecided()
        check_transition(self.status, EnrollmentStatus.APPROVED)
        self.identity_approved(
            agent=agent, note=note, reason=checked_reason(REVIEW, "approve", reason),
            account_id=account_id, actor=f"support:{agent}", timestamp=at,
        )

    def reject(self, agent: str, note: str, at: datetime, reason: str | None = None) -> None:
        self._check_undecided()
        check_transition(self.status, EnrollmentStatus.REJECTED)
        self.identity_rejected(
            agent=agent, note=note, reason=checked_reason(REVIEW, "reject", reason),
            actor=f"support:{agent}", timestamp=at,
        )

    def record_rejection_email(self, outcome: str, at: datetime) -> None:
        """How the e-mail telling of the rejection ended; once."""
        outcome = MailOutcome(outcome)
        if self.status != EnrollmentStatus.REJECTED:
            raise InvalidTransitionError(f"a {self.status} registration is sent no rejection")
        if self.rejection_email is None:
            self.rejection_email_sent(outcome=outcome.value, actor="system:mailer", timestamp=at)

    def _check_undecided(self) -> None:
        if self.status in (EnrollmentStatus.APPROVED, EnrollmentStatus.REJECTED):
            raise AlreadyDecidedError(self.status)

    # Events.

    @event("RegistrationRefused")
    def registration_refused(self, reason: str, actor: str, timestamp: datetime) -> None:
        self.status = self.first_answer = EnrollmentStatus.REFUSED
        self.reason = reason
        self.decided_at = timestamp

    @event("IdentityMatched")
    def identity_matched(self, account_id: UUID, actor: str, timestamp: datetime) -> None:
        self.status = self.first_answer = EnrollmentStatus.ACCEPTED
        self.account_id = account_id
        self.decided_at = timestamp

    @event("IdentityMismatchFlagged")
    def identity_mismatch_flagged(
        self,
        member_number: str,
        member_key: UUID,
        declared: dict[str, str],
        directory: dict[str, str],
        actor: str,
        timestamp: datetime,
    ) -> None:
        self.status = self.first_answer = EnrollmentStatus.IDENTITY_REVIEW
        self.directory_names = directory

    @event(IdentityApproved)
    def identity_approved(
        self, agent: str, note: str, reason: str | None, account_id: UUID, actor: str,
        timestamp: datetime,
    ) -> None:
        self.status = EnrollmentStatus.APPROVED
        self.account_id = account_id
        self.decided_at = timestamp
        self.decision_reason = reason

    @event(IdentityRejected)
    def identity_rejected(
        self, agent: str, note: str, reason: str | None, actor: str, timestamp: datetime
    ) -> None:
        self.status = EnrollmentStatus.REJECTED
        self.decided_at = timestamp
        self.decision_reason = reason

    @event("RejectionEmailSent")
    def rejection_email_sent(self, outcome: str, actor: str, timestamp: datetime) -> None:
        self.rejection_email = outcome
