"""The composition root: settings -> adapters -> the application and its use cases -> the
read models and the queue. Every entry point calls `bootstrap()`: the web app (app.py), the
dramatiq workers and the projection runner (workers/), the CLI, tests and benches; no adapter,
projection or domain module imports it (import-linter, pyproject.toml). It imports no Flask:
a worker process never loads the web app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import dramatiq
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from adapters import metrics, schema
from adapters.audit_proofs import AuditProofs
from adapters.checkpoints import CheckpointSigner
from adapters.database import Database, eventsourcing_env, schema_lock
from adapters.directory import SqlMemberDirectory
from adapters.event_chain import ChainedEventStore
from adapters.event_store import ProtectedMapper
from adapters.hashing import BcryptHasher
from adapters.keyring import KeyRing
from adapters.mail import MailSender, mail_sender
from adapters.password_strength import ZxcvbnCheck
from adapters.queue.actors import Actors, declare_actors
from adapters.queue.broker import make_broker
from adapters.queue.outbox import Outbox
from adapters.sessions import MemberSessions
from adapters.settings import Settings
from adapters.staff_tokens import StaffTokens
from adapters.webauthn_ceremonies import WebAuthnCeremonies
from adapters.webauthn_challenges import WebAuthnChallenges
from domain.lifecycle import AccountLifecycle
from domain.ports import Clock, Ports, utc_now
from domain.use_cases import UseCases, use_cases
from projections.audit import AuditIndex, AuditView
from projections.audit_tree import AuditTree, AuditTreeView
from projections.portal import Portal, PortalView
from projections.runner import ProjectionThread
from projections.support_queue import SupportQueue, SupportQueueView
from projections.versions import ReadModels


@dataclass
class Services:
    settings: Settings
    clock: Clock
    lifecycle: AccountLifecycle  # the event store; every write goes through use_cases
    use_cases: UseCases
    database: Database
    directory: SqlMemberDirectory
    staff_tokens: StaffTokens
    sessions: MemberSessions
    challenges: WebAuthnChallenges
    mailer: MailSender
    broker: dramatiq.Broker
    actors: Actors
    outbox: Outbox
    support_queue: SupportQueueView
    portal: PortalView
    audit: AuditView
    audit_tree: AuditTreeView  # the Merkle tree over the log, for signed checkpoints and proofs
    audit_proofs: AuditProofs
    # Built here, started only where the read models are kept up to date: the active
    # projection runner, or the embedded default's one process (workers/background.py).
    projections: ProjectionThread
    read_models: ReadModels
    migrated_from: str | None  # the schema's revision before this start, if it was older
    # What an entry point started over these services (the background work), stopped first.
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for stop in reversed(self.closers):
            stop()
        self.projections.stop()
        self.outbox.stop()
        self.broker.close()
        self.lifecycle.close()


class StoredLifecycle(AccountLifecycle):
    """Built on a factory made beforehand, so our own tables share the event store's pool;
    its events are chained and its personal fields sealed (adapters/event_store.py)."""

    def __init__(self, factory: InfrastructureFactory[Any], keys: KeyRing, **kwargs: Any):
        self._factory = factory
        self._keys = keys
        super().__init__(**kwargs)

    def construct_factory(self, env: Environment) -> InfrastructureFactory[Any]:
        return self._factory

    def construct_mapper(self) -> ProtectedMapper:
        return ProtectedMapper(self.construct_transcoder(), self._keys)

    def construct_event_store(self) -> ChainedEventStore:
        return ChainedEventStore(self.mapper, self.recorder)  # type: ignore[arg-type]


def bootstrap(settings: Settings, clock: Clock = utc_now) -> Services:
    env = eventsourcing_env(settings)
    # The factory is made here, before the application, so that our tables share its pool;
    # it must then be told itself that the application takes snapshots.
    env = {**env, "IS_SNAPSHOTTING_ENABLED": "y"}
    with schema_lock(settings):  # several processes may be starting at once
        factory = InfrastructureFactory.construct(Environment(AccountLifecycle.name, env))
        database = Database(factory.datastore)  # type: ignore[attr-defined]
        directory = SqlMemberDirectory(database)
        staff_tokens = StaffTokens(database, clock)
        keys = KeyRing(database, settings.secret_key)
        migrated_from = schema.migrate(settings, database)
        lifecycle = StoredLifecycle(factory, keys, env=env)
        tracking = factory.tracking_recorder()
        support_queue = SupportQueueView(database, tracking)
        portal_view = PortalView(database, tracking)
        audit_view = AuditView(database, tracking)
        audit_tree = AuditTreeView(database, tracking)
        read_models = ReadModels(database, [
            SupportQueue(support_queue), Portal(portal_view), AuditIndex(audit_view),
            AuditTree(audit_tree),
        ])
        read_models.prepare()
    sessions = MemberSessions(database, clock)
    challenges = WebAuthnChallenges(database, clock)
    ports = Ports(
        directory=directory,
        hasher=BcryptHasher(settings.bcrypt_rounds),
        strength=ZxcvbnCheck(),
        sessions=sessions,
        subjects=keys,
        clock=clock,
        # WebAuthn's relying party is the portal's host, its origin exactly the portal's URL.
        ceremonies=WebAuthnCeremonies(
            urlsplit(settings.portal_url).hostname or "localhost", "Espace Client",
            settings.portal_url,
        ),
        challenges=challenges,
    )
    cases = use_cases(lifecycle, ports, audit_view)
    broker = make_broker(settings)
    mailer = mail_sender(settings.mail)
    actors = declare_actors(
        broker, cases.mail, cases.claims, mailer, settings.mail_from, settings.portal_url
    )
    outbox = Outbox(
        broker, actors, address_of=lambda account_id: lifecycle.repository.get(account_id).email
    )
    projections = ProjectionThread(lifecycle, read_models.projections, read_models=read_models)

    def committed(events: Any) -> None:
        metrics.count_events(events)
        outbox(events)
        projections.wake()

    lifecycle.on_committed = committed
    return Services(
        settings, clock, lifecycle, cases, database, directory, staff_tokens, sessions,
        challenges, mailer,
        broker, actors, outbox, support_queue, portal_view, audit_view, audit_tree,
        AuditProofs(audit_tree, CheckpointSigner.from_settings(settings)), projections,
        read_models, migrated_from,
    )
