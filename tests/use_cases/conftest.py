"""The use cases alone: the library's in-memory persistence (POPO), no Flask, no database, no
queue. The ports are in-memory stand-ins built here; bcrypt (cost 4) and zxcvbn are the real
ones, since they are pure computations."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from uuid import UUID

import pytest

from adapters.hashing import BcryptHasher
from adapters.password_strength import ZxcvbnCheck
from adapters.webauthn_ceremonies import WebAuthnCeremonies
from domain.account import Account
from domain.directory import DirectoryEntry, HealthCoverage, HealthRole, Retirement
from domain.lifecycle import AccountLifecycle
from domain.personal_data import SUBJECT_INDEXED_BY, SUBJECT_RETIRED_BY
from domain.ports import Ports
from domain.use_cases import UseCases, use_cases
from domain.use_cases.views import RegistrationRequest
from tests.helpers import DEMO_CSV, FakeClock


class DemoDirectory:
    """demo/members.csv, read into the domain's entries."""

    def __init__(self) -> None:
        rows = list(csv.DictReader(DEMO_CSV.read_text(encoding="utf-8").splitlines()))
        coverages: dict[str, list[HealthCoverage]] = defaultdict(list)
        for row in rows:
            if row["health_contract_id"]:
                coverages[row["member_number"]].append(HealthCoverage(
                    row["health_contract_id"], row["health_contract_type"],
                    HealthRole(row["health_role"]), row["principal_member_number"] or None,
                    row["relation"] or None,
                ))
        self.entries = {
            row["member_number"]: DirectoryEntry(
                row["member_number"], row["last_name"], row["first_name"],
                date.fromisoformat(row["birth_date"]),
                Retirement(row["retirement"]) if row["retirement"] else None,
                tuple(coverages[row["member_number"]]),
            )
            for row in rows
        }

    def find(self, member_number: str) -> DirectoryEntry | None:
        return self.entries.get(member_number)

    def beneficiaries(self, principal_member_number: str) -> list[dict[str, str]]:
        return [
            {"first_name": e.first_name, "last_name": e.last_name}
            for e in self.entries.values()
            if any(c.principal_member_number == principal_member_number for c in e.coverages)
        ]

    def find_with_beneficiaries(self, member_number: str):
        return self.find(member_number), self.beneficiaries(member_number)


@dataclass
class Session:
    account_id: UUID
    temporary: bool


@dataclass
class InMemorySessions:
    clock: FakeClock
    open_sessions: dict[str, Session] = field(default_factory=dict)

    def open(self, account_id: UUID, identifier: str, temporary: bool) -> tuple[str, datetime]:
        token = f"token-{len(self.open_sessions) + 1}"
        self.open_sessions[token] = Session(account_id, temporary)
        return token, self.clock()

    def revoke(self, digest: str) -> None:
        self.open_sessions.pop(digest, None)

    def revoke_all(self, account_id: UUID, keep: str | None = None) -> None:
        for token in [t for t, s in self.open_sessions.items() if s.account_id == account_id]:
            if token != keep:
                del self.open_sessions[token]

    def end_temporary(self, digest: str) -> None:
        self.open_sessions[digest].temporary = False


class InMemoryChallenges:
    """WebAuthn challenges handed out, each answered once before it expires."""

    def __init__(self, clock: FakeClock):
        self.clock = clock
        self.live: dict[bytes, tuple[str, UUID | None, datetime]] = {}

    def issue(
        self, challenge: bytes, purpose: str, account_id: UUID | None,
        lifetime: timedelta = timedelta(minutes=5),
    ) -> None:
        self.live[challenge] = (purpose, account_id, self.clock() + lifetime)

    def consume(self, challenge: bytes, purpose: str) -> tuple[bool, UUID | None]:
        found = self.live.pop(challenge, None)
        if found is None or found[0] != purpose or self.clock() >= found[2]:
            return False, None
        return True, found[1]


class InMemorySubjects:
    """The data subjects read from the log, as the key ring's lookup is written with it: a
    member number finds the index made for it until the closure that unlinks it, or erasure."""

    def __init__(self, store: AccountLifecycle):
        self.store = store
        self.destroyed: list[UUID] = []

    def find(self, member_number: str) -> UUID | None:
        found = None
        for notification in self.store.recorder.select_notifications(start=1, limit=100_000):
            event = self.store.mapper.to_domain_event(notification)
            name = type(event).__qualname__
            if name == SUBJECT_INDEXED_BY[0]:
                if getattr(event, SUBJECT_INDEXED_BY[1]) == member_number:
                    found = event.originator_id
            elif name == SUBJECT_RETIRED_BY and event.originator_id == found:
                found = None
        return None if found in self.destroyed else found

    def destroy(self, subject: UUID) -> None:
        self.destroyed.append(subject)


class StreamIndex:
    """The audit index's answer computed from the log: every stream that names the member."""

    def __init__(self, store: AccountLifecycle):
        self.store = store

    def member_events(self, member_key: UUID) -> list[dict[str, object]]:
        notifications = self.store.recorder.select_notifications(start=1, limit=100_000)
        events = [(n.id, self.store.mapper.to_domain_event(n)) for n in notifications]
        streams = {
            e.originator_id for _, e in events if getattr(e, "member_key", None) == member_key
        }
        return [
            {"position": p, "stream_id": str(e.originator_id), "version": e.originator_version}
            for p, e in events if e.originator_id in streams
        ]


HELENE = RegistrationRequest(
    member_number="M1000001", last_name="dupre lefevre", first_name="HELENE",
    birth_date=date(1978, 4, 12), email="helene@example.org",
)


@dataclass
class World:
    cases: UseCases
    store: AccountLifecycle
    clock: FakeClock
    sessions: InMemorySessions
    subjects: InMemorySubjects

    def registered(self, request: RegistrationRequest = HELENE) -> tuple[Account, str]:
        """An accepted registration's account and the temporary password its worker drew."""
        view = self.cases.registration.register(request)
        assert view.status == "accepted", view
        account_id = self.store.enrollment(view.registration_id).account_id
        [request_id] = self.cases.mail.pending_credentials_requests(account_id)
        issued = self.cases.mail.issue_temporary_password(account_id, request_id)
        self.cases.mail.record_credentials_email(account_id, request_id, issued=issued)
        return self.store.account(account_id), issued.temporary_password


@pytest.fixture
def helene() -> RegistrationRequest:
    """Hélène Dupré-Lefèvre of demo/members.csv, her names typed without accents or case."""
    return HELENE


@pytest.fixture
def world() -> World:
    clock = FakeClock()
    store = AccountLifecycle()  # the library's default: in-memory persistence
    sessions, subjects = InMemorySessions(clock), InMemorySubjects(store)
    ports = Ports(
        directory=DemoDirectory(), hasher=BcryptHasher(4), strength=ZxcvbnCheck(),
        sessions=sessions, subjects=subjects, clock=clock,
        ceremonies=WebAuthnCeremonies("localhost", "Espace Client", "http://localhost:5000"),
        challenges=InMemoryChallenges(clock),
    )
    yield World(use_cases(store, ports, StreamIndex(store)), store, clock, sessions, subjects)
    store.close()
