"""Composition root: settings -> adapters -> application -> HTTP, CLI and workers."""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import dramatiq
import swagger_ui_bundle
from apscheduler.schedulers.background import BackgroundScheduler
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment
from flask import Flask, g, request, send_from_directory
from flask.cli import AppGroup
from flask_wtf.csrf import CSRFProtect
from marshmallow import Schema, fields

from adapters import logs, metrics
from adapters.database import Database, eventsourcing_env, schema_lock
from adapters.directory import DirectoryImportError, SqlMemberDirectory
from adapters.event_store import ChainedEventStore, ProtectedMapper
from adapters.hashing import BcryptHasher
from adapters.http import Api, audit, claims, console, member, ops, portal, support
from adapters.http.errors import register_error_handlers
from adapters.http.headers import register_security_headers
from adapters.http.limits import make_limiter
from adapters.keyring import KeyRing
from adapters.mail import MailSender, mail_sender
from adapters.password_strength import ZxcvbnCheck
from adapters.sessions import ROLES, MemberSessions, StaffTokens
from adapters.settings import Settings, SettingsError
from domain.application import AccountLifecycle, Clock, utc_now
from projections.audit import AuditIndex, AuditView
from projections.portal import Portal, PortalView
from projections.runner import ProjectionThread
from projections.support_queue import SupportQueue, SupportQueueView
from workers import checks
from workers.actors import Actors, declare_actors
from workers.broker import make_broker
from workers.outbox import Outbox

MAX_BODY = 64 * 1024
log = logging.getLogger("accounts")
access_log = logging.getLogger("accounts.access")


@dataclass
class Services:
    settings: Settings
    lifecycle: AccountLifecycle
    database: Database
    directory: SqlMemberDirectory
    staff_tokens: StaffTokens
    sessions: MemberSessions
    mailer: MailSender
    broker: dramatiq.Broker
    actors: Actors
    outbox: Outbox
    support_queue: SupportQueueView
    portal: PortalView
    audit: AuditView
    projections: ProjectionThread
    checks: BackgroundScheduler

    def run_in_background(self) -> None:
        """The projections and the scheduled checks: in the active runner, or in the embedded
        default's one process."""
        self.projections.start()
        self.checks.start()

    def close(self) -> None:
        if self.checks.running:
            self.checks.shutdown(wait=True)
        self.projections.stop()
        self.outbox.stop()
        self.broker.close()
        self.lifecycle.close()


class _Lifecycle(AccountLifecycle):
    """Built on a factory made beforehand, so our own tables share the event store's pool;
    its events are chained and its personal fields sealed (adapters/event_store.py)."""

    def __init__(self, factory: InfrastructureFactory[Any], keys: KeyRing, **kwargs: Any):
        self._factory = factory
        self._keys = keys
        super().__init__(destroy_keys=keys.destroy, **kwargs)

    def construct_factory(self, env: Environment) -> InfrastructureFactory[Any]:
        return self._factory

    def construct_mapper(self) -> ProtectedMapper:
        return ProtectedMapper(self.construct_transcoder(), self._keys)

    def construct_event_store(self) -> ChainedEventStore:
        return ChainedEventStore(self.mapper, self.recorder)  # type: ignore[arg-type]


def build_services(settings: Settings, clock: Clock = utc_now) -> Services:
    env = eventsourcing_env(settings)
    # The factory is made here, before the application, so that our tables share its pool;
    # it must then be told itself that the application takes snapshots.
    env = {**env, "IS_SNAPSHOTTING_ENABLED": "y"}
    with schema_lock(settings):  # several processes may be starting at once
        factory = InfrastructureFactory.construct(Environment(AccountLifecycle.name, env))
        database = Database(factory.datastore)  # type: ignore[attr-defined]
        directory = SqlMemberDirectory(database)
        staff_tokens = StaffTokens(database)
        keys = KeyRing(database, settings.secret_key)
        directory.create_tables()
        staff_tokens.create_tables()
        keys.create_tables()
        lifecycle = _Lifecycle(
            factory,
            keys,
            env=env,
            directory=directory,
            hasher=BcryptHasher(settings.bcrypt_rounds),
            strength=ZxcvbnCheck(),
            clock=clock,
        )
        tracking = factory.tracking_recorder()
        support_queue = SupportQueueView(database, tracking)
        support_queue.create_tables()
        portal_view = PortalView(database, tracking)
        portal_view.create_tables()
        audit_view = AuditView(database, tracking)
        audit_view.create_tables()
    broker = make_broker(settings)
    mailer = mail_sender(settings.mail)
    actors = declare_actors(broker, lifecycle, mailer, settings.mail_from)
    outbox = Outbox(
        broker, actors, address_of=lambda account_id: lifecycle.repository.get(account_id).email
    )
    projections = ProjectionThread(
        lifecycle, [SupportQueue(support_queue), Portal(portal_view), AuditIndex(audit_view)]
    )

    def committed(events: Any) -> None:
        metrics.count_events(events)
        outbox(events)
        projections.wake()

    lifecycle.on_committed = committed
    sessions = MemberSessions(database, clock)
    return Services(
        settings, lifecycle, database, directory, staff_tokens, sessions, mailer, broker, actors,
        outbox, support_queue, portal_view, audit_view, projections,
        checks.scheduler(lifecycle, support_queue, outbox),
    )


def register_request_logging(app: Flask) -> None:
    """Each request is counted and timed by route (never by raw path, which would make a
    series per identifier), and gets an id (the caller's X-Request-ID when plain, else a new
    one), bound to every log line it causes, handed to the jobs it enqueues, and echoed in the
    response."""

    @app.before_request
    def bind() -> None:
        g.request_id = logs.request_id(request.headers.get("X-Request-ID"))
        g.request_started = time.perf_counter()
        logs.bind_request(g.request_id)

    @app.after_request
    def log_and_echo(response: Any) -> Any:
        response.headers["X-Request-ID"] = g.request_id
        seconds = time.perf_counter() - g.request_started
        access_log.info("request", extra={
            "method": request.method, "path": request.path, "status": response.status_code,
            "duration_ms": round(seconds * 1000, 2),
        })
        endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.observe_request(endpoint, request.method, response.status_code, seconds)
        return response

    @app.teardown_request
    def unbind(_error: BaseException | None) -> None:
        logs.unbind_request()


class ErrorSchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class ContractApi(Api):
    ERROR_SCHEMA = ErrorSchema


def create_app(settings: Settings | None = None, clock: Clock = utc_now) -> Flask:
    logs.configure()
    try:
        settings = settings or Settings.from_env()
    except SettingsError as error:
        raise SystemExit(f"account-lifecycle: {error}") from None
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=MAX_BODY,
        API_TITLE="account-lifecycle",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/api/v1/docs/static/",
        # Every recovery answers after at least this long (see portal.Recoveries).
        RECOVERY_MIN_SECONDS=0.2,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]  (keep the contract's field order)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  (French, readable as sent)
    services = build_services(settings, clock)
    app.extensions["accounts"] = services
    if services.outbox.kind == "in-process":
        # The embedded default is one process: it keeps its own read models up to date.
        services.run_in_background()
    register_error_handlers(app)
    register_request_logging(app)
    register_security_headers(app)
    api = ContractApi(app)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.register_blueprint(portal.blp)
    api.register_blueprint(member.blp)
    api.register_blueprint(support.blp)
    api.register_blueprint(claims.blp)
    api.register_blueprint(audit.blp)
    app.register_blueprint(ops.blp)
    app.register_blueprint(console.bp)
    # Only the console's forms are CSRF-checked (console.py), with its session cookie kept from
    # scripts and cross-site posts; the JSON API takes bearer tokens, never cookies.
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", WTF_CSRF_CHECK_DEFAULT=False
    )
    CSRFProtect(app)
    make_limiter(app, settings)

    @app.get("/api/v1/docs/static/<path:filename>")
    def swagger_static(filename: str) -> Any:
        # Served from the swagger-ui-bundle package: the docs page works with no outside network.
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)

    app.cli.add_command(directory_cli)
    app.cli.add_command(staff_cli)
    app.cli.add_command(audit_cli)
    if settings.mail.kind == "file":
        log.info("e-mails are written as .eml files to %s", settings.mail.directory.resolve())
    return app


def _services() -> Services:
    from flask import current_app

    return current_app.extensions["accounts"]


@click.group("directory", cls=AppGroup, help="The member directory (eligibility reference).")
def directory_cli() -> None:
    pass


@directory_cli.command("import", help="Import a directory CSV: all rows or none.")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def directory_import(csv_file: Path) -> None:
    try:
        text = csv_file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        click.echo(f"{csv_file}: le fichier n'est pas en UTF-8", err=True)
        sys.exit(1)
    try:
        count = _services().directory.import_csv(text)
    except DirectoryImportError as error:
        for line, problem in error.problems:
            click.echo(f"{csv_file}:{line}: {problem}", err=True)
        click.echo(f"aucune ligne importée ({len(error.problems)} erreur(s))", err=True)
        sys.exit(1)
    click.echo(f"{count} ligne(s) importée(s)")


@click.group("staff", cls=AppGroup, help="Staff members and their tokens.")
def staff_cli() -> None:
    pass


@staff_cli.command("create", help="Create a token for NAME; the token is the last line printed.")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
def staff_create(name: str, role: str) -> None:
    try:
        token = _services().staff_tokens.create(name, role)
    except ValueError as error:
        click.echo(str(error), err=True)
        sys.exit(2)
    click.echo(f"Jeton créé pour {name} (rôle {role}). Il ne sera plus affiché :")
    click.echo(token)


@click.group("audit", cls=AppGroup, help="Checks for auditors.")
def audit_cli() -> None:
    pass


@audit_cli.command(
    "verify", help="Check the hash chain, replay the history into fresh read models, compare."
)
def audit_verify() -> None:
    from projections.verify import verify_chain, verify_read_models, verify_snapshots

    s = _services()
    s.projections.stop()  # this command brings the live read models up to date itself
    chain = verify_chain(s.lifecycle, s.audit, say=click.echo)
    problems = chain.problems
    try:
        problems += verify_snapshots(s.lifecycle, chain, say=click.echo)
    except Exception as error:  # a tampered event may not even decode: say so, do not crash
        problems.append(f"snapshot check failed: {type(error).__name__}: {error}")
    views = {"support_queue": s.support_queue, "portal": s.portal, "audit": s.audit}
    try:
        result = verify_read_models(s.lifecycle, views, say=click.echo)
        problems += result.differences
        summary = (
            f"replayed up to position {result.head}; "
            f"{sum(result.read_models.values())} rows compared"
        )
    except Exception as error:  # as above
        problems.append(f"replay failed: {type(error).__name__}: {error}")
        summary = "replay failed"
    for problem in problems:
        click.echo(f"PROBLEM {problem}", err=True)
    click.echo(
        f"{chain.checked} events chained; {summary}; "
        + ("everything agrees" if not problems else f"{len(problems)} problem(s)")
    )
    sys.exit(0 if not problems else 1)
