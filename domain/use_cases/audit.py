"""What auditors read: an account's history (its own, its registrations', its requests' and its
reimbursements' events, found through the audit index), its state at an instant, the global
ordered feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from domain.account import SIGN_INS, Account
from domain.errors import AccountNotFoundError
from domain.lifecycle import AccountLifecycle
from domain.ports import MemberEvents
from domain.use_cases.views import StateAt

# The account's status as an auditor reads it (CONTRACT.md, "Audit"): `locked` while a lockout
# is in force at the instant asked about, which the aggregate's own status does not say.
OPEN, LOCKED, CLOSED = "open", "locked", "closed"
STATUSES = (OPEN, LOCKED, CLOSED)


class AuditTrail:
    def __init__(self, store: AccountLifecycle, index: MemberEvents):
        self.store = store
        self.index = index

    def history(self, identifier: str) -> list[tuple[int, Any]]:
        """(position in the log, event) for every event of the account's member, in order:
        the index files a reimbursement under its principal member's key, as it files their
        account, registrations and requests (projections/audit.py)."""
        account = self.store.known_account(identifier)
        rows = self.index.member_events(account.member_key)
        by_stream = {
            stream_id: {e.originator_version: e for e in self.store.events.get(UUID(stream_id))}
            for stream_id in {str(row["stream_id"]) for row in rows}
        }
        return [
            (int(row["position"]), by_stream[str(row["stream_id"])][int(row["version"])])
            for row in rows
        ]

    def state_at(self, identifier: str, at: datetime) -> StateAt:
        """The account rebuilt from its events recorded up to `at` (the library reads by
        version, not by instant: the last version by then is found from the events), as the
        contract shows it (account_state)."""
        account = self.store.known_account(identifier)
        version, last_sign_in = 0, None
        for event in self.store.events.get(account.id):
            if event.timestamp > at:
                break
            version = event.originator_version
            if isinstance(event, SIGN_INS):
                # Not kept by the aggregate: only the auditors ask, so it is read here.
                last_sign_in = event.timestamp
        if version == 0:
            raise AccountNotFoundError(f"{identifier} did not exist at {at.isoformat()}")
        then: Account = self.store.repository.get(account.id, version=version)
        return StateAt(then.identifier, version, account_state(then, at, last_sign_in))

    def feed(self, after: int, limit: int) -> list[tuple[int, Any]]:
        """(position, event) for the events after position `after`, at most `limit`."""
        notifications = self.store.recorder.select_notifications(start=after + 1, limit=limit)
        return [(n.id, self.store.mapper.to_domain_event(n)) for n in notifications]


def account_state(account: Account, at: datetime, last_sign_in: datetime | None) -> dict[str, Any]:
    """What the contract shows of an account at `at`, and nothing else: no hash, no pending
    request, no counter. The personal fields are whatever the events read as, so an erased
    member's are the erased placeholders."""
    locked = account.is_locked(at)
    status = CLOSED if not account.is_open else LOCKED if locked else OPEN
    return {
        "status": status,
        "email": account.email,
        # The support view's rule: no own password, so the next sign-in is on a temporary one.
        "must_change_password": account.password_hash is None,
        "locked_until": account.locked_until if locked else None,
        "alerts": account.alerts_reimbursements,
        "secret_question": account.secret_question,
        "last_sign_in_at": last_sign_in,
    }
