"""Reimbursement: one health reimbursement from the claims feed, and its alert e-mail."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.indexes import NAMESPACE

# Why a reimbursement's alert was not sent: nobody to send it to, or nobody who asked for it.
ALERT_SKIP_REASONS = frozenset({"no_account", "account_closed", "not_subscribed"})


class Reimbursement(Aggregate):
    """Its id comes from the feed's reimbursement_id, so a replay cannot record it twice."""

    @staticmethod
    def create_id(reimbursement_id: str) -> UUID:
        return uuid5(NAMESPACE, f"reimbursement:{reimbursement_id}")

    @event("ReimbursementRecorded")
    def __init__(
        self,
        reimbursement_id: str,
        member_number: str,
        principal_member_number: str,
        member_key: UUID,
        contract_id: str,
        label: str,
        care_date: date,
        paid_at: datetime,
        amount: str,
        actor: str,
        timestamp: datetime,
    ):
        self.reimbursement_id = reimbursement_id
        self.member_number = member_number
        self.principal_member_number = principal_member_number
        self.member_key = member_key
        self.contract_id = contract_id
        self.label = label
        self.care_date = care_date
        self.paid_at = paid_at
        self.amount = amount
        self.alert_sent = False
        self.alert_skipped: str | None = None  # why no alert went, once decided

    def same_as(self, **fields: object) -> bool:
        """A replay carries the same facts; the same id with other facts is not a replay."""
        return all(getattr(self, name) == value for name, value in fields.items())

    @property
    def alert_settled(self) -> bool:
        """Sent or skipped: every reimbursement ends with one of the two, once."""
        return self.alert_sent or self.alert_skipped is not None

    def record_alert_sent(self, account_id: UUID, at: datetime) -> None:
        if not self.alert_settled:
            self.reimbursement_alert_sent(
                account_id=account_id, actor="system:alerts", timestamp=at
            )

    def skip_alert(self, reason: str, at: datetime) -> None:
        if reason not in ALERT_SKIP_REASONS:
            raise ValueError(f"unknown reason to skip an alert: {reason}")
        if not self.alert_settled:
            self.reimbursement_alert_skipped(reason=reason, actor="system:alerts", timestamp=at)

    @event("ReimbursementAlertSent")
    def reimbursement_alert_sent(self, account_id: UUID, actor: str, timestamp: datetime) -> None:
        self.alert_sent = True

    @event("ReimbursementAlertSkipped")
    def reimbursement_alert_skipped(self, reason: str, actor: str, timestamp: datetime) -> None:
        self.alert_skipped = reason
