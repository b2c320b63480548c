"""The web entry point: create_app() serves the API, the console and the CLI commands over
the services that bootstrap.py wires (the composition root, shared with the workers)."""

from __future__ import annotations

import logging
import time
from typing import Any

import click
import swagger_ui_bundle
from flask import Flask, g, request, send_from_directory
from flask.cli import AppGroup
from flask_wtf.csrf import CSRFProtect

from adapters import logs, metrics
from adapters.http import (
    Api,
    audit,
    audit_tree,
    claims,
    console,
    member,
    member_sessions,
    ops,
    passkeys,
    portal,
    support,
)
from adapters.http.commands import audit_cli, cli_services, directory_cli, staff_cli
from adapters.http.errors import register_error_handlers
from adapters.http.headers import register_security_headers
from adapters.http.limits import make_limiter
from adapters.http.pages import register_pages
from adapters.http.schemas import ErrorSchema
from adapters.settings import Settings, SettingsError
from bootstrap import bootstrap
from domain.ports import Clock, utc_now
from workers.background import Background

MAX_BODY = 64 * 1024
log = logging.getLogger("accounts")
access_log = logging.getLogger("accounts.access")


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
    services = bootstrap(settings, clock)
    app.extensions["accounts"] = services
    if services.outbox.kind == "in-process":
        # The embedded default is one process: it keeps its own read models up to date and
        # runs the scheduled checks, from the first request it serves. Not before: the CLI
        # commands build this same app, and none of them may start that work.
        background = Background(services)
        app.extensions["accounts.background"] = background
        services.closers.append(background.stop)
        app.before_request(background.start)
    register_error_handlers(app)
    register_request_logging(app)
    register_security_headers(app)
    api = ContractApi(app)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.register_blueprint(portal.blp)
    api.register_blueprint(member.blp)
    api.register_blueprint(member_sessions.blp)
    api.register_blueprint(passkeys.blp)
    api.register_blueprint(support.blp)
    api.register_blueprint(claims.blp)
    api.register_blueprint(audit.blp)
    api.register_blueprint(audit_tree.blp)
    app.register_blueprint(ops.blp)
    app.register_blueprint(console.bp)
    register_pages(app)
    # Only the pages' forms are CSRF-checked (console.py, pages/), with their session cookie
    # kept from scripts and cross-site posts; the JSON API takes bearer tokens, never cookies.
    # Secure wherever the service is reached over https: the cookie opens a session.
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", WTF_CSRF_CHECK_DEFAULT=False,
        SESSION_COOKIE_SECURE=public_url(settings).startswith("https://"),
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
    app.cli.add_command(db_cli)
    if settings.mail.kind == "file":
        log.info("e-mails are written as .eml files to %s", settings.mail.directory.resolve())
    return app


def public_url(settings: Settings) -> str:
    """Where members and staff reach the service: ACCOUNTS_PORTAL_URL (CONTRACT.md), which
    also makes the links in e-mails."""
    return settings.portal_url


@click.group("db", cls=AppGroup, help="The database: schema and read models.")
def db_cli() -> None:
    pass


@db_cli.command(
    "upgrade", help="Migrate the tables; rebuild changed read models beside the live ones."
)
def db_upgrade() -> None:
    from adapters.progress import ProgressBars
    from adapters.schema import head
    from workers.runner_lock import runner_lock
    from workers.upgrade import finish_rebuilds

    s = cli_services()  # its start-up migrated the tables, under the schema lock
    before = s.migrated_from
    click.echo(f"tables: revision {head()}" + (
        "" if before == head() else f" (was {before or 'the release before migrations'})"
    ))
    with ProgressBars() as progress:
        finish_rebuilds(s, runner_lock(s.settings), progress, say=progress.say)
    for name, (live, _) in sorted(s.read_models.versions().items()):
        click.echo(f"read model {name}: version {live}")


@db_cli.command("downgrade", help="Undo the migrations after REVISION (before a roll back).")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    from adapters.schema import downgrade

    s = cli_services()
    if revision in ("0001", "base"):  # below read model versions: all of them were at 1
        for name in s.read_models.empty_newer_than(1):
            click.echo(f"read model {name}: emptied, for the older release to rebuild")
    click.echo(f"tables: revision {downgrade(s.settings, revision)}")
