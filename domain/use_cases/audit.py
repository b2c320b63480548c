"""What auditors read: an account's history (its own, its registrations', its requests' and its
reimbursements' events, found through the audit index), its state at an instant, the global
ordered feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from domain.errors import AccountNotFoundError
from domain.lifecycle import AccountLifecycle
from domain.ports import MemberEvents
from domain.use_cases.views import StateAt


class AuditTrail:
    def __init__(self, store: AccountLifecycle, index: MemberEvents):
        self.store = store
        self.index = index

    def history(self, identifier: str) -> list[tuple[int, Any]]:
        """(position in the log, event) for every event of the account's member, in order."""
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
        version, not by instant: the last version by then is found from the events)."""
        account = self.store.known_account(identifier)
        version = 0
        for event in self.store.events.get(account.id):
            if event.timestamp > at:
                break
            version = event.originator_version
        if version == 0:
            raise AccountNotFoundError(f"{identifier} did not exist at {at.isoformat()}")
        then = self.store.repository.get(account.id, version=version)
        # Underscored attributes are the library's and the store's, not the account's.
        state = {k: v for k, v in vars(then).items() if not k.startswith("_")}
        return StateAt(identifier, version, state)

    def feed(self, after: int, limit: int) -> list[tuple[int, Any]]:
        """(position, event) for the events after position `after`, at most `limit`."""
        notifications = self.store.recorder.select_notifications(start=after + 1, limit=limit)
        return [(n.id, self.store.mapper.to_domain_event(n)) for n in notifications]
