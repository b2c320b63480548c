"""The claims feed: reimbursements recorded once each, and the alert e-mail they may call for."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import IntegrityError

from domain.directory import HealthRole
from domain.errors import ConcurrencyError, FieldError, IdempotencyKeyReusedError
from domain.lifecycle import AccountLifecycle, retried
from domain.personal_data import ERASED
from domain.ports import Ports
from domain.reimbursement import Reimbursement
from domain.use_cases.views import ReimbursementAlert, ReimbursementFeedItem


class Claims:
    def __init__(self, store: AccountLifecycle, ports: Ports):
        self.store = store
        self.directory = ports.directory
        self.subjects = ports.subjects
        self.clock = ports.clock

    def record_reimbursement(self, item: ReimbursementFeedItem, actor: str) -> bool:
        """Record a reimbursement once; True when new, False for a replay of the same one."""
        entry = self.directory.find(item.member_number)
        if entry is None:
            raise FieldError("member_number", "Adhérent inconnu.")
        coverage = next((c for c in entry.coverages if c.contract_id == item.contract_id), None)
        if coverage is None:
            raise FieldError("contract_id", "Ce contrat ne couvre pas cet adhérent.")
        principal = (
            item.member_number
            if coverage.role is HealthRole.PRINCIPAL
            else coverage.principal_member_number
        )
        facts = {
            "member_number": item.member_number, "contract_id": item.contract_id,
            "label": item.label, "care_date": item.care_date, "paid_at": item.paid_at,
            "amount": item.amount,
        }
        # Two tries, not `retried`'s eight: the only races are the same item arriving twice at
        # once, or two items indexing their new principal at once, and the second try finds
        # what the other recorded.
        for _ in range(2):
            existing = self.store.get_or_none(Reimbursement.create_id(item.reimbursement_id))
            if existing is not None:
                # Once its member is erased, its facts cannot be compared: a replay is assumed.
                if existing.member_number != ERASED and not existing.same_as(**facts):
                    raise IdempotencyKeyReusedError(item.reimbursement_id)
                return False
            at = self.clock()
            # Filed under the principal's index, made now if they have none, so that it is
            # theirs to see once they register and erased with them.
            index = self.store.member_index(
                self.subjects.find(principal), principal, "system:claims", at
            )
            reimbursement = Reimbursement(
                reimbursement_id=item.reimbursement_id, principal_member_number=principal,
                member_key=index.id, actor=actor, timestamp=at, **facts,
            )
            try:
                self.store.save(reimbursement, index)
                return True
            except IntegrityError:
                continue
        raise ConcurrencyError(item.reimbursement_id)

    def reimbursement_alert(self, reimbursement_id: UUID) -> tuple[UUID, ReimbursementAlert] | None:
        """The alert to send for a reimbursement, or None: it was sent or skipped already, or
        its principal member has no open account or no subscription (skipped now, saying so)."""
        reimbursement: Reimbursement = self.store.repository.get(reimbursement_id)
        if reimbursement.alert_settled:
            return None
        index = self.store.index_or_none(reimbursement.member_key)
        account = None
        if index is not None and index.account_id is not None:
            account = self.store.account(index.account_id)
        skipped = None
        if account is None:
            skipped = "no_account"
        elif not account.is_open:
            skipped = "account_closed"
        elif not account.alerts_reimbursements:
            skipped = "not_subscribed"
        if skipped is not None:
            self._skip(reimbursement_id, skipped)
            return None
        beneficiary = self.directory.find(reimbursement.member_number)
        alert = ReimbursementAlert(
            email=account.email,
            beneficiary_first_name=beneficiary.first_name if beneficiary else "",
            amount=reimbursement.amount,
            care_date=reimbursement.care_date,
        )
        return account.id, alert

    @retried
    def _skip(self, reimbursement_id: UUID, reason: str) -> None:
        reimbursement: Reimbursement = self.store.repository.get(reimbursement_id)
        reimbursement.skip_alert(reason, self.clock())
        self.store.save(reimbursement)

    @retried
    def record_alert_sent(self, reimbursement_id: UUID, account_id: UUID) -> None:
        reimbursement: Reimbursement = self.store.repository.get(reimbursement_id)
        reimbursement.record_alert_sent(account_id, self.clock())
        self.store.save(reimbursement)
