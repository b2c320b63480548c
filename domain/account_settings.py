"""Closure, erasure, the member's settings and the notices of an account: the Account methods
that record them.

`SettingsMixin` is a base of Account, like CredentialsMixin: it reads what Account's
`__init__` and events set, and records through Account's event methods, which stay in
Account's own class body so that their topics stay domain.account:Account.<Name>.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain.errors import InvalidTransitionError
from domain.mail import MailOutcome
from domain.states import AccountStatus, check_transition


class SettingsMixin:
    def set_secret_question(
        self, question: str, answer_hash: str, actor: str, at: datetime
    ) -> None:
        self._check_open()
        self.secret_question_set(
            question=question, answer_hash=answer_hash, actor=actor, timestamp=at
        )

    def set_alerts(self, reimbursements: bool, at: datetime) -> None:
        self._check_open()
        if reimbursements != self.alerts_reimbursements:
            self.alerts_preference_changed(
                reimbursements=reimbursements, actor=self.actor, timestamp=at
            )

    def close(self, agent: str, at: datetime) -> None:
        check_transition(self.status, AccountStatus.CLOSED)
        self.account_closed(agent=agent, actor=f"support:{agent}", timestamp=at)

    def erase_personal_data(self, at: datetime) -> None:
        """Recorded once the member's keys are destroyed; only after closure."""
        if self.is_open:
            raise InvalidTransitionError("an open account keeps its personal data")
        if not self.personal_data_erased:
            self.personal_data_erased_(
                member_key=self.member_key, actor="system:erasure", timestamp=at
            )

    def request_closure(self, request_id: UUID, at: datetime) -> None:
        self._check_open()
        self.closure_requested(request_id=request_id, actor=self.actor, timestamp=at)

    # The member's sessions and data: the sessions live outside the aggregate (their tokens
    # are no event's business), the account keeps the trace of what was done with them.

    def end_session(self, device: str, at: datetime) -> None:
        """The member ended their session on another device (their own is a sign-out)."""
        self._check_open()
        self.session_ended(device=device, actor=self.actor, timestamp=at)

    def export_personal_data(self, actor: str, at: datetime) -> None:
        """A copy of the member's data left the service: for the member, or support for them."""
        self._check_open()
        if actor != self.actor and not actor.startswith("support:"):
            raise ValueError(f"only the member or support exports an account's data: {actor}")
        self.personal_data_exported(actor=actor, timestamp=at)

    def record_notice(self, about_version: int, outcome: str, at: datetime) -> None:
        """How the notice of the event at `about_version` ended; once per event. A closed or
        erased account takes it too: the closure's own notice goes out after the closure."""
        outcome = MailOutcome(outcome)
        if not 1 <= about_version <= self.version:
            raise ValueError(f"no event {about_version} to notify of")
        if about_version not in self.notified_versions:
            self.notice_sent(
                about_version=about_version, outcome=outcome.value, actor="system:mailer",
                timestamp=at,
            )
