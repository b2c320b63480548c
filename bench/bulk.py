"""Accounts in bulk, straight into PostgreSQL with COPY: what `make bench` stands on.

Each account is what an accepted registration followed by its credentials e-mail and a first
password change leaves: the domain decides it (the registration use case's own `decide`, on
an in-memory store and directory, so nothing is read from the database), the service's own
mapper chains and seals its events with a per-member key, and COPY writes the events, the keys,
the stream links and the directory rows. Ten events per account, every one of them decodable
and verifiable by `audit verify`; nothing goes through HTTP or a per-row transaction.

    python -m bench.bulk --database-url postgresql://postgres@127.0.0.1:5432/db --accounts N

The read models are not built (a projection runner started on the database builds them).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta

import psycopg

from adapters.event_store import ProtectedMapper, event_hash
from adapters.hashing import BcryptHasher
from adapters.keyring import KeyRing
from adapters.settings import Settings
from bench.common import bench_settings
from bootstrap import bootstrap
from domain.directory import DirectoryEntry, Retirement
from domain.lifecycle import AccountLifecycle
from domain.ports import Ports
from domain.use_cases import registration as registration_module
from domain.use_cases.registration import Registration
from domain.use_cases.views import RegistrationRequest

# Bumped when the domain changes what a registered account's events are: bench/run.py then
# generates its kept database of a million accounts again.
FORMAT = 3  # 2: index events name their actor; 3: random member subjects, found by lookup
CHUNK = 2_000
EVENTS_TABLE = "accountlifecycle_events"
BIRTH = date(1960, 1, 1)
STARTED = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


def member_number(n: int) -> str:
    return f"B{n:08d}"


def member_row(n: int) -> tuple[str, str, str, str, str]:
    """The directory row of bulk member n: a retirement contributor (eligible, one section)."""
    return member_number(n), f"Bench{n}", "Camille", BIRTH.isoformat(), "contributor"


def registration_request(n: int) -> RegistrationRequest:
    """What bulk member n sends to register (matching their directory row)."""
    number = member_number(n)
    return RegistrationRequest(number, f"Bench{n}", "Camille", BIRTH,
                               f"{number.lower()}@example.org")


class _Directory:
    def find(self, number: str) -> DirectoryEntry | None:
        return DirectoryEntry(number, f"Bench{int(number[1:])}", "Camille", BIRTH,
                              Retirement.CONTRIBUTOR)

    def beneficiaries(self, principal_member_number: str) -> list[dict[str, str]]:
        return []


class _Keys(KeyRing):
    """The key ring's own wrapping and sealing, over an empty store: every member is new, and
    what a save would write (NewKeys) is collected for COPY instead."""

    def __init__(self, secret_key: str):
        super().__init__(database=None, secret_key=secret_key)  # type: ignore[arg-type]

    def _current(self, subject: uuid.UUID) -> None:
        return None

    def subject_of(self, stream_id: uuid.UUID) -> None:
        return None

    def find(self, member_number: str) -> None:
        return None


class _Hasher:
    """The bcrypt hash every bulk account's password has (given, so made once, not per row)."""

    def __init__(self, password_hash: str):
        self.password_hash = password_hash

    def hash(self, password: str) -> str:
        return self.password_hash


def _chunk(
    start: int, count: int, password_hash: str, secret_key: str
) -> tuple[list[tuple], list[tuple], list[tuple], list[tuple], list[str]]:
    """Events, key rows, links and member lookups for accounts start..start+count, and their
    identifiers."""
    clock = iter(STARTED + timedelta(seconds=n) for n in range(start * 10, (start + count) * 10))
    lifecycle = AccountLifecycle()  # in memory: only its transcoder and the decision are used
    registration = Registration(lifecycle, Ports(
        directory=_Directory(), hasher=_Hasher(password_hash),  # type: ignore[arg-type]
        strength=None, sessions=None, subjects=_Keys(secret_key),  # type: ignore[arg-type]
        clock=lambda: next(clock),
    ))
    # Identifiers drawn at random collide between chunks written in parallel (the service
    # retries on a collision; COPY cannot): a bijection of n onto the 8-digit range instead.
    numbers = iter(range(start, start + count))
    registration_module.generate_identifier = (
        lambda: str(10_000_000 + next(numbers) * 48_271 % 90_000_000)
    )
    keys = _Keys(secret_key)
    mapper = ProtectedMapper(lifecycle.construct_transcoder(), keys)
    rows: list[tuple] = []
    key_rows: list[tuple[str, str, str, str]] = []
    links: list[tuple[str, str]] = []
    lookups: list[tuple[str, str]] = []
    identifiers = []
    for n in range(start, start + count):
        request = registration_request(n)
        at = registration.clock()
        enrollment, others = registration.decide(request, None, at)
        account = next(a for a in others if type(a).__name__ == "Account")
        [requested] = account.credentials_requests
        account.issue_temporary_password(
            requested.request_id, password_hash=password_hash,
            expires_at=at + timedelta(days=15), at=at,
        )
        account.record_credentials_email_sent(requested.request_id, at)
        account.change_password(password_hash, at)
        identifiers.append(account.identifier)
        previous: dict[uuid.UUID, str] = {}
        with mapper.one_save() as new_keys:  # as the service's save maps its events
            for aggregate in (enrollment, *others):
                for event in aggregate.collect_events():
                    stored = mapper.to_stored_event(
                        event, previous=previous.get(event.originator_id)
                    )
                    previous[event.originator_id] = event_hash(stored)
                    rows.append((stored.originator_id, stored.originator_version, stored.topic,
                                 stored.state))
        key_rows += new_keys.keys
        links += new_keys.links.items()
        lookups += new_keys.lookups
    return rows, key_rows, links, lookups, identifiers


def _write(conninfo: str, start: int, count: int, password_hash: str, secret_key: str) -> list[str]:
    rows, key_rows, links, lookups, identifiers = _chunk(start, count, password_hash, secret_key)
    with psycopg.connect(conninfo) as connection, connection.cursor() as cursor:
        with cursor.copy(f"COPY {EVENTS_TABLE} (originator_id, originator_version, topic, state)"
                         " FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        with cursor.copy("COPY personal_keys (key_id, subject, wrapped, created_at)"
                         " FROM STDIN") as copy:
            for row in key_rows:
                copy.write_row(row)
        with cursor.copy("COPY stream_subjects (stream_id, subject) FROM STDIN") as copy:
            for row in links:
                copy.write_row(row)
        with cursor.copy("COPY member_subjects (lookup, subject) FROM STDIN") as copy:
            for row in lookups:
                copy.write_row(row)
    add_members(conninfo, range(start, start + count))
    return identifiers


def add_members(conninfo: str, numbers: Iterable[int]) -> None:
    """Bulk members into the directory (members without an account, when they are to register)."""
    with psycopg.connect(conninfo) as connection, connection.cursor() as cursor, cursor.copy(
        "COPY directory_members (member_number, last_name, first_name, birth_date, retirement)"
        " FROM STDIN"
    ) as copy:
        for n in numbers:
            copy.write_row(member_row(n))


def _ranges(first: int, accounts: int) -> Iterator[tuple[int, int]]:
    for start in range(first, first + accounts, CHUNK):
        yield start, min(CHUNK, first + accounts - start)


def generate(
    settings: Settings, conninfo: str, accounts: int, password_hash: str, first: int = 0,
    processes: int | None = None,
) -> list[str]:
    """Writes `accounts` accounts numbered from `first` (the service's tables must exist: build
    the services once on the database first); returns their identifiers, in order."""
    identifiers: list[str] = []
    with ProcessPoolExecutor(processes or os.cpu_count() or 1) as pool:
        futures = [
            pool.submit(_write, conninfo, start, count, password_hash, settings.secret_key)
            for start, count in _ranges(first, accounts)
        ]
        for future in futures:
            identifiers += future.result()
    return identifiers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--accounts", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = bench_settings(tmp, args.database_url)
        bootstrap(settings).close()  # the tables
        started = time.perf_counter()
        generate(settings, args.database_url, args.accounts, BcryptHasher(4).hash("bench"))
        elapsed = time.perf_counter() - started
    print(f"{args.accounts} accounts in {elapsed:.1f} s ({args.accounts / elapsed:.0f}/s)")


if __name__ == "__main__":
    main()
