"""The portal's read model: each principal member's health reimbursements.

Kept by the principal's member key, not by account, so that a reimbursement recorded before
the member has an account shows as soon as they have one. Names are read from the directory
when the page is read, like every other name the portal shows. Erasing the member deletes
their rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.account import Account
from domain.personal_data import is_erased
from domain.reimbursement import Reimbursement
from projections.view import View


class PortalView(View):
    tables = (
        """CREATE TABLE IF NOT EXISTS portal_reimbursements (
            reimbursement_id TEXT PRIMARY KEY,
            member_key TEXT NOT NULL,
            member_number TEXT NOT NULL,
            contract_id TEXT NOT NULL,
            label TEXT NOT NULL,
            care_date TEXT NOT NULL,
            paid_at TEXT NOT NULL,
            amount TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS portal_reimbursements_principal"
        " ON portal_reimbursements (member_key, paid_at)",
    )
    table_names = ("portal_reimbursements",)

    def reimbursements(self, principal: UUID, since: datetime) -> list[dict[str, Any]]:
        """The principal member's (by member key), newest first by paid_at, with the
        beneficiary's names from the directory."""
        # One statement (adapters/directory.py's beneficiaries says why not a transaction).
        return self.database.run(
            "SELECT r.*, m.first_name, m.last_name FROM portal_reimbursements r"
            " LEFT JOIN directory_members m ON m.member_number = r.member_number"
            " WHERE r.member_key = %s AND r.paid_at >= %s"
            " ORDER BY r.paid_at DESC, r.reimbursement_id",
            (str(principal), since.isoformat()),
        )

    def all_rows(self) -> dict[str, list[dict[str, Any]]]:
        with self.database.transaction(commit=False) as cursor:
            cursor.execute("SELECT * FROM portal_reimbursements ORDER BY reimbursement_id")
            return {"portal_reimbursements": cursor.fetchall()}


class Portal(Projection[PortalView]):
    name = "portal"

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.record(tracking)

    @process_event.register
    def reimbursement_recorded(
        self, event: Reimbursement.ReimbursementRecorded, tracking: Tracking
    ) -> None:
        if is_erased(event):
            # Its member was erased after closure, which removed its row (below) anyway.
            self.view.record(tracking)
            return
        # paid_at is stored in UTC ISO form so that text order is time order.
        self.view.record(tracking, [(
            "INSERT INTO portal_reimbursements (reimbursement_id, member_key,"
            " member_number, contract_id, label, care_date, paid_at, amount)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (reimbursement_id) DO NOTHING",
            [event.reimbursement_id, str(event.member_key), event.member_number,
             event.contract_id, event.label, event.care_date.isoformat(),
             utc_iso(event.paid_at), event.amount],
        )])

    @process_event.register
    def personal_data_erased(self, event: Account.PersonalDataErased, tracking: Tracking) -> None:
        self.view.record(tracking, [(
            "DELETE FROM portal_reimbursements WHERE member_key = %s", [str(event.member_key)]
        )])


def utc_iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()
