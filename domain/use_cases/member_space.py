"""The signed-in member's own space: what the portal shows them, and their alerts."""

from __future__ import annotations

from uuid import UUID

from domain.lifecycle import AccountLifecycle, retried
from domain.ports import Ports
from domain.use_cases.views import MemberView


class MemberSpace:
    def __init__(self, store: AccountLifecycle, ports: Ports):
        self.store = store
        self.directory = ports.directory
        self.clock = ports.clock

    def me(
        self, account_id: UUID, *, beneficiaries: bool = True, directory: bool = True
    ) -> MemberView:
        """What the portal shows the member; without their beneficiaries, or without anything
        from the directory (names, sections), for the pages that do not show them: a query
        less each."""
        account = self.store.account_to_show(account_id)
        entry, covered = None, []
        if directory and beneficiaries:
            entry, covered = self.directory.find_with_beneficiaries(account.member_number)
        elif directory:
            entry = self.directory.find(account.member_number)
        # Only a health contract's principal member has beneficiaries.
        if entry is None or not entry.is_health_principal:
            covered = []
        return MemberView(
            identifier=account.identifier,
            member_number=account.member_number,
            email=account.email,
            first_name=entry.first_name if entry else "",
            last_name=entry.last_name if entry else "",
            sections=entry.sections() if entry else [],
            beneficiaries=covered,
            alerts_reimbursements=account.alerts_reimbursements,
            secret_question=account.secret_question,
            member_key=account.member_key,
        )

    @retried
    def set_alerts(self, account_id: UUID, reimbursements: bool) -> bool:
        account = self.store.account(account_id)
        account.set_alerts(reimbursements, self.clock())
        self.store.save(account)
        return account.alerts_reimbursements
