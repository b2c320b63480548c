"""A member's data, for the member (GDPR art. 15 and 20) or for support on their behalf: the
account, its history, sessions, passkeys, reimbursements and preferences. Each export is an
event on the account (PersonalDataExported), with who asked for it.

What it gathers is the account's view, never its credentials: the adapter that shapes the
document takes only the named fields below (no hash, no pending code, no session digest).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from domain.account import SIGN_INS, Account
from domain.directory import MemberDirectory
from domain.lifecycle import AccountLifecycle, retried
from domain.ports import Clock
from domain.use_cases.audit import AuditTrail, account_state
from domain.use_cases.devices import ListedSessions, SessionRecord

# Every reimbursement ever recorded for the member, not the portal's last 12 months.
SINCE_EVER = datetime(1970, 1, 1, tzinfo=UTC)


class MemberReimbursements(Protocol):
    def reimbursements(self, principal: UUID, since: datetime) -> list[dict[str, Any]]:
        """The principal member's (by member key) paid since `since`, newest first."""
        ...


@dataclass(frozen=True)
class PersonalData:
    identifier: str
    member_number: str
    first_name: str
    last_name: str
    sections: list[str]
    state: dict[str, Any]  # audit.account_state: status, e-mail, question, alerts…
    created_at: datetime
    history: list[tuple[int, Any]]  # (position in the log, event), as the auditors read it
    sessions: Sequence[SessionRecord]
    passkeys: list[Any]  # name, added_at, last_used_at of each (domain/account_passkeys.py)
    reimbursements: list[dict[str, Any]]
    exported_at: datetime


class Export:
    def __init__(
        self, store: AccountLifecycle, directory: MemberDirectory, trail: AuditTrail,
        sessions: ListedSessions, reimbursements: MemberReimbursements, clock: Clock,
    ):
        self.store = store
        self.directory = directory
        self.trail = trail
        self.sessions = sessions
        self.reimbursements = reimbursements
        self.clock = clock

    def for_member(self, account_id: UUID) -> PersonalData:
        """The signed-in member's own export."""
        return self._export(self._recorded(account_id, None))

    def for_support(self, identifier: str, agent: str) -> PersonalData:
        """Support's export for a member who wrote in: recorded with the agent's name."""
        account = self.store.known_account(identifier)
        return self._export(self._recorded(account.id, f"support:{agent}"))

    @retried
    def _recorded(self, account_id: UUID, actor: str | None) -> Account:
        account = self.store.account(account_id)
        account.export_personal_data(actor or account.actor, self.clock())
        self.store.save(account)
        return account

    def _export(self, account: Account) -> PersonalData:
        at = self.clock()
        history = self.trail.history(account.identifier)
        signed_in = [e.timestamp for _, e in history if isinstance(e, SIGN_INS)]
        entry = self.directory.find(account.member_number)
        return PersonalData(
            identifier=account.identifier,
            member_number=account.member_number,
            first_name=entry.first_name if entry else "",
            last_name=entry.last_name if entry else "",
            sections=entry.sections() if entry else [],
            state=account_state(account, at, max(signed_in, default=None)),
            created_at=account.created_on,
            history=history,
            sessions=self.sessions.listed(account.id),
            passkeys=list(account.passkeys),
            reimbursements=self.reimbursements.reimbursements(account.member_key, SINCE_EVER),
            exported_at=at,
        )
