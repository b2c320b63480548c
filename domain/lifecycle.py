"""AccountLifecycle: the one event-sourced Application every use case writes through.

It holds what the store needs to know (its name, which aggregates take snapshots, how the
state inside a snapshot is encoded) and the loads the use cases share. The use cases
themselves are in domain/use_cases/, one module per family; `retried` is the one place a
lost race is run again.
"""

from __future__ import annotations

import contextlib
import functools
import secrets
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, ClassVar, ParamSpec, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding

from domain.account import Account, CredentialsRequest, EmailChange
from domain.account_passkeys import Passkey
from domain.enrollment import Enrollment
from domain.errors import (
    AccountNotFoundError,
    ConcurrencyError,
    RegistrationNotFoundError,
    SupportRequestNotFoundError,
)
from domain.indexes import IdentifierIndex, MemberIndex
from domain.support_request import SupportRequest

# Every sign-in adds an event: a snapshot each 10 keeps a load to a few events (bench/run.py
# measured a third less CPU per sign-in than with 50), for one extra write per 10 events.
SNAPSHOT_EVERY = 10
ACCOUNT_CACHE = 5000  # accounts kept per process (cached_accounts): a few KB each
IDENTIFIERS_REMEMBERED = 50_000  # identifier -> account id, about 200 bytes each
# Optimistic concurrency: a lost race is retried from a fresh load this many times.
MAX_ATTEMPTS = 8
# A record that lost `retried`'s every attempt is tried again after a random pause,
# up to 0.05 s x (1 + 2 + 4 + 8 + 16) in all (`patient`).
ROUNDS = 5
FIRST_PAUSE = 0.05

P = ParamSpec("P")
R = TypeVar("R")
A = TypeVar("A", bound=Aggregate)


def retried(use_case: Callable[P, R]) -> Callable[P, R]:
    """Run the use case again, from its first load, when its save lost a race: another writer
    saved one of its aggregates first (the library raises IntegrityError on the stale version).
    So every guard is checked again on the state that is then saved."""

    @functools.wraps(use_case)
    def attempts(*args: P.args, **kwargs: P.kwargs) -> R:
        for _ in range(MAX_ATTEMPTS):
            try:
                return use_case(*args, **kwargs)
            except IntegrityError:
                continue
        raise ConcurrencyError("too many concurrent changes")

    return attempts


def patient(record: Callable[P, R]) -> Callable[P, R]:
    """For a record whose loss costs more than a wait: a burst at one account (30 recoveries,
    a stream of sign-ins) can win all of `retried`'s attempts, one after the other. A worker's
    message would then fail and run again: a second e-mail for one request when the send was
    done already, or the new password, which cancels the older one, held back for seconds
    (dramatiq's retry) while the older one still signs in; a recovery would record nothing.
    A random pause lets the burst pass; each round decides again on a fresh load."""

    @functools.wraps(record)
    def rounds(*args: P.args, **kwargs: P.kwargs) -> R:
        for n in range(ROUNDS):
            try:
                return record(*args, **kwargs)
            except ConcurrencyError:
                time.sleep(FIRST_PAUSE * 2**n * secrets.SystemRandom().random())
        return record(*args, **kwargs)

    return rounds


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class CredentialsRequestAsDict(Transcoding):
    type = CredentialsRequest
    name = "credentials_request"

    def encode(self, obj: CredentialsRequest) -> dict[str, Any]:
        return dict(vars(obj))

    def decode(self, data: dict[str, Any]) -> CredentialsRequest:
        return CredentialsRequest(**data)


class EmailChangeAsDict(Transcoding):
    type = EmailChange
    name = "email_change"

    def encode(self, obj: EmailChange) -> dict[str, Any]:
        return dict(vars(obj))

    def decode(self, data: dict[str, Any]) -> EmailChange:
        return EmailChange(**data)


class PasskeyAsDict(Transcoding):
    type = Passkey
    name = "passkey"

    def encode(self, obj: Passkey) -> dict[str, Any]:
        return dict(vars(obj))

    def decode(self, data: dict[str, Any]) -> Passkey:
        return Passkey(**data)


class AccountLifecycle(Application[UUID]):
    name = "AccountLifecycle"
    # An account that lives for years (sign-ins, alerts, recoveries) loads from its latest
    # snapshot and the events after it, not from its first event.
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Account: SNAPSHOT_EVERY}

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        # The state inside a snapshot of an Account.
        transcoder.register(CredentialsRequestAsDict())
        transcoder.register(EmailChangeAsDict())
        transcoder.register(PasskeyAsDict())

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        on_committed: Callable[[Sequence[DomainEventProtocol[UUID]]], None] | None = None,
    ):
        super().__init__(env)
        self._unsnapshotted = Repository(event_store=self.events)
        # Accounts, which every signed-in page loads, are kept as loaded and fast-forwarded
        # on each load with the events recorded since (one query instead of the snapshot's
        # and the events', and no replay: issue 17's bench). Reads stay as fresh as the
        # store; a command gets a deep copy. Accounts only: an erased account's copy forgets
        # the member's data with PersonalDataErased as a reload would, whereas the other
        # streams of an erased member (requests, enrollments) get no event at erasure, so a
        # kept copy of them would go on showing what erasure made unreadable.
        self.cached_accounts = Repository(
            event_store=self.events, snapshot_store=self.snapshots,
            cache_maxsize=ACCOUNT_CACHE, fastforward=True,
        )
        self._identified: dict[str, UUID] = {}
        self.on_committed = on_committed

    def notify(self, new_events: list[DomainEventProtocol[UUID]]) -> None:
        # Called by save() once the events are committed: the outbox hand-off point.
        if self.on_committed is not None:
            self.on_committed(new_events)

    def update(self, loaded: A, command: Callable[[A], None]) -> A:
        """Run the command on an aggregate the use case has just loaded and save it; should
        another writer have saved it first, run the command again on a fresh load (`retried`).
        It spares a second load on the hot paths (sign-in), and the command checks its own
        guards, so whatever state it runs on is the state saved."""
        first = [loaded]

        @retried
        def once() -> A:
            aggregate = first.pop() if first else self.repository.get(loaded.id)
            command(aggregate)
            self.save(aggregate)
            return aggregate

        return once()

    # The loads the use cases share.

    def get_or_none(self, aggregate_id: UUID) -> Any:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def index_or_none(self, aggregate_id: UUID) -> Any:
        """An index or idempotency record: never snapshotted, so read without asking the
        snapshot store first (a round trip less on every registration and sign-in)."""
        try:
            return self._unsnapshotted.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def member_index(
        self, subject: UUID | None, member_number: str, actor: str, at: datetime
    ) -> MemberIndex:
        """The index of the member whose subject this is (DataSubjects.find), or a new one for
        the caller to save with what it records (saving it unchanged records nothing)."""
        if subject is None:
            return MemberIndex(member_number=member_number, actor=actor, timestamp=at)
        index = self.index_or_none(subject)
        if not isinstance(index, MemberIndex):  # the lookup is written with the index's events
            raise LookupError(f"no member index {subject}")
        return index

    def account(self, account_id: UUID) -> Account:
        return self._account(account_id, copied=True)

    def account_to_show(self, account_id: UUID) -> Account:
        """The kept account itself, for a view that only reads it: a command must use
        account(), whose deep copy (a fifth of a page's load) keeps the kept one unchanged."""
        return self._account(account_id, copied=False)

    def _account(self, account_id: UUID, *, copied: bool) -> Account:
        try:
            account = self.cached_accounts.get(account_id, deepcopy_from_cache=copied)
        except AggregateNotFoundError:
            raise AccountNotFoundError(account_id) from None
        if not isinstance(account, Account):
            with contextlib.suppress(KeyError):  # keep accounts only
                self.cached_accounts.cache.get(account_id, evict=True)
            raise AccountNotFoundError(account_id)
        return account

    def enrollment(self, registration_id: UUID) -> Enrollment:
        enrollment = self.get_or_none(registration_id)
        if not isinstance(enrollment, Enrollment):
            raise RegistrationNotFoundError(registration_id)
        return enrollment

    def support_request(self, request_id: UUID) -> SupportRequest:
        request = self.get_or_none(request_id)
        if not isinstance(request, SupportRequest):
            raise SupportRequestNotFoundError(request_id)
        return request

    def account_by_identifier(self, identifier: str) -> Account | None:
        # Pasted from the e-mail with the white space around it, it is the same identifier.
        identifier = identifier.strip()
        if not identifier.isdigit() or len(identifier) != 8:
            return None
        account_id = self._identified.get(identifier)
        if account_id is None:
            index = self.index_or_none(IdentifierIndex.create_id(identifier))
            if index is None:
                return None
            account_id = index.account_id
            # An identifier is never reused nor moved: what it names can be remembered.
            if len(self._identified) >= IDENTIFIERS_REMEMBERED:
                self._identified.clear()
            self._identified[identifier] = account_id
        return self.account(account_id)

    def known_account(self, identifier: str) -> Account:
        """The account of an identifier that must exist (support, audit)."""
        account = self.account_by_identifier(identifier)
        if account is None:
            raise AccountNotFoundError(identifier)
        return account
