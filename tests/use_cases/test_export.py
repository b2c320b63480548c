"""The export of a member's data and the ending of their sessions, in memory: what the use
cases gather, and the events they record with who asked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

import pytest

from domain.errors import AccountClosedError
from domain.use_cases.devices import Devices, SessionNotFoundError
from domain.use_cases.export import Export


@dataclass(frozen=True)
class Seen:
    session_id: str
    digest: str
    created_at: datetime
    last_seen_at: datetime
    user_agent: str | None


@dataclass
class Sessions:
    rows: dict[UUID, list[Seen]] = field(default_factory=dict)

    def listed(self, account_id: UUID) -> list[Seen]:
        return list(self.rows.get(account_id, []))

    def end(self, account_id: UUID, session_id: str) -> Seen | None:
        found = [s for s in self.listed(account_id) if s.session_id == session_id]
        for s in found:
            self.rows[account_id].remove(s)
        return found[0] if found else None

    def end_others(self, account_id: UUID, keep: str) -> list[Seen]:
        ended = [s for s in self.listed(account_id) if s.digest != keep]
        self.rows[account_id] = [s for s in self.listed(account_id) if s.digest == keep]
        return ended


PAID = {"reimbursement_id": "R1", "contract_id": "SANTE-IND-001", "label": "Consultation",
        "care_date": "2026-10-01", "paid_at": "2026-10-05T08:00:00+00:00", "amount": "25.00",
        "first_name": "Zoé", "last_name": "Dupré-Lefèvre"}


class Paid:
    def __init__(self) -> None:
        self.asked: list[tuple[UUID, datetime]] = []

    def reimbursements(self, principal: UUID, since: datetime) -> list[dict]:
        self.asked.append((principal, since))
        return [PAID]


def session(n: int, ua: str | None = None) -> Seen:
    at = datetime(2026, 11, 26, 10, n, tzinfo=UTC)
    return Seen(f"id-{n}", f"digest-{n}", at, at, ua)


@pytest.fixture
def signed_in(world):
    account, password = world.registered()
    world.cases.sign_in.sign_in(account.identifier, password)
    return world.store.account(account.id)


def export_of(world, sessions: Sessions, paid: Paid) -> Export:
    return Export(world.store, world.cases.member_space.directory, world.cases.audit,
                  sessions, paid, world.clock)


def test_the_export_gathers_the_account_its_history_sessions_and_reimbursements(world,
                                                                                signed_in):
    sessions, paid = Sessions({signed_in.id: [session(1, "Firefox")]}), Paid()

    data = export_of(world, sessions, paid).for_member(signed_in.id)

    assert (data.identifier, data.member_number) == (signed_in.identifier, "M1000001")
    assert (data.first_name, data.last_name) == ("Hélène", "Dupré-Lefèvre")
    assert data.state["status"] == "open" and data.state["email"] == "helene@example.org"
    assert data.state["last_sign_in_at"] is not None
    assert data.state["must_change_password"] is True  # signed in on the temporary password
    types = [type(e).__name__ for _, e in data.history]
    assert types[:2] == ["RegistrationRequested", "IdentityMatched"]
    assert "SignedIn" in types and "PersonalDataExported" in types
    assert [s.session_id for s in data.sessions] == ["id-1"]
    assert data.passkeys == [] and data.reimbursements == [PAID]
    assert paid.asked == [(signed_in.member_key, datetime(1970, 1, 1, tzinfo=UTC))]


def test_each_export_is_an_event_with_who_asked(world, signed_in):
    export = export_of(world, Sessions(), Paid())
    export.for_member(signed_in.id)
    export.for_support(signed_in.identifier, "alice")
    exported = [e for e in world.store.events.get(signed_in.id)
                if type(e).__name__ == "PersonalDataExported"]
    assert [e.actor for e in exported] == [f"member:{signed_in.identifier}", "support:alice"]


def test_a_closed_account_is_not_exported(world, signed_in):
    account = world.store.account(signed_in.id)
    account.close("alice", world.clock())
    world.store.save(account)
    with pytest.raises(AccountClosedError):
        export_of(world, Sessions(), Paid()).for_support(signed_in.identifier, "alice")


def test_ending_another_device_records_it_and_ending_ones_own_does_not(world, signed_in):
    sessions = Sessions({signed_in.id: [session(1, "Firefox"), session(2), session(3)]})
    devices = Devices(world.store, sessions, lambda ua: ua or "Appareil inconnu", world.clock)

    devices.end(signed_in.id, "id-1", current="digest-3")
    devices.end(signed_in.id, "id-3", current="digest-3")  # a sign-out
    with pytest.raises(SessionNotFoundError):
        devices.end(signed_in.id, "id-1", current="digest-3")

    ended = [e for e in world.store.events.get(signed_in.id) if type(e).__name__ == "SessionEnded"]
    assert [(e.device, e.actor) for e in ended] == [("Firefox", f"member:{signed_in.identifier}")]
    assert [s.session_id for s in sessions.listed(signed_in.id)] == ["id-2"]


def test_ending_all_the_others_records_one_event_each(world, signed_in):
    sessions = Sessions({signed_in.id: [session(1), session(2, "Safari"), session(3)]})
    devices = Devices(world.store, sessions, lambda ua: ua or "Appareil inconnu", world.clock)

    assert devices.end_others(signed_in.id, current="digest-2") == 2
    assert devices.end_others(signed_in.id, current="digest-2") == 0

    ended = [e for e in world.store.events.get(signed_in.id) if type(e).__name__ == "SessionEnded"]
    assert [e.device for e in ended] == ["Appareil inconnu", "Appareil inconnu"]
    assert [s.session_id for s in sessions.listed(signed_in.id)] == ["id-2"]
