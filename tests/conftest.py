"""Shared fixtures: every store-backed test runs on SQLite and on a fresh PostgreSQL database."""

from __future__ import annotations

import io
import logging
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import psycopg
import pytest
import redis

from adapters.logs import json_formatter
from adapters.settings import Settings

PG_HOST = os.environ.get("TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("TEST_PG_USER", "postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
DEMO_CSV = Path(__file__).resolve().parent.parent / "demo" / "members.csv"


def _unavailable(what: str, error: Exception) -> None:
    """In CI a missing server fails the run; on a laptop the test is skipped, saying why."""
    message = f"{what} is not reachable ({error}); start it as .ci/run does"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _admin() -> psycopg.Connection:
    return psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True,
        connect_timeout=5,
    )


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    name = f"accounts_test_{uuid.uuid4().hex[:12]}"
    try:
        with _admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        _unavailable("PostgreSQL", error)
    yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database number of its own for this test (xdist workers run side by side;
    TEST_REDIS_DB_BASE moves a whole run to other numbers, for two runs at once)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    base = int(os.environ.get("TEST_REDIS_DB_BASE", "1"))
    url = f"{REDIS_URL}/{1 + (base - 1 + int(worker or 0)) % 15}"
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError as error:
        _unavailable("Redis", error)
    yield url
    client.flushdb()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'accounts.sqlite3'}"
    return request.getfixturevalue("postgres_url")


def make_settings(tmp_path: Path, database_url: str, **overrides: str) -> Settings:
    env = {
        "ACCOUNTS_DATABASE_URL": database_url,
        "ACCOUNTS_MAIL_URL": f"file://{tmp_path / 'mail'}",
        "ACCOUNTS_BCRYPT_ROUNDS": "4",
        "ACCOUNTS_SECRET_KEY": SECRET_KEY,
        "ACCOUNTS_RATE_LIMITS": "off",
        **overrides,
    }
    return Settings.from_env(env, var_dir=tmp_path / "var")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


class FakeClock:
    """The application's clock, moved by hand: tests of expiry and lockout never sleep."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(settings: Settings, clock: FakeClock):
    from app import create_app

    flask_app = create_app(settings, clock=clock)
    # The timing floor only matters to the enumeration test, which builds its own app.
    flask_app.config["RECOVERY_MIN_SECONDS"] = 0.0
    services = flask_app.extensions["accounts"]
    services.directory.import_csv(DEMO_CSV.read_text(encoding="utf-8"))
    yield flask_app
    services.close()


@pytest.fixture
def services(app):
    return app.extensions["accounts"]


@pytest.fixture
def client(app):
    return app.test_client()


def drain(services) -> None:
    """Run every queued job of the in-process worker to completion (re-raises failures)."""
    services.outbox.start_in_process_worker()
    services.broker.join("mail")


def read_mail(directory: Path) -> list[EmailMessage]:
    return [
        message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted(directory.glob("*.eml"))
    ]


def table_names(services) -> set[str]:
    """Every table of the service's database, from its catalogue."""
    db = services.database
    with db.transaction(commit=False) as cursor:
        if db.kind == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        else:
            cursor.execute(
                "SELECT table_name AS name FROM information_schema.tables"
                " WHERE table_schema = 'public'"
            )
        return {row["name"] for row in cursor.fetchall()}


def database_text(services, leave_out: frozenset[str] = frozenset()) -> str:
    """Every row of every table but `leave_out`, as text (bytes decoded), to search for leaked
    secrets and personal data."""
    tables = table_names(services)
    assert tables >= leave_out, leave_out - tables  # what is left out must exist
    chunks = []
    with services.database.transaction(commit=False) as cursor:
        for table in sorted(tables - leave_out):
            cursor.execute(f'SELECT * FROM "{table}"')  # names come from the catalogue
            for row in cursor.fetchall():
                for value in row.values():
                    if isinstance(value, bytes | bytearray | memoryview):
                        chunks.append(bytes(value).decode("utf-8", "replace"))
                    else:
                        chunks.append(str(value))
    return "\n".join(chunks)


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """What the root logger writes from DEBUG up, formatted exactly as in production."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def event_types(services) -> list[str]:
    """The type names of every stored event, in order."""
    recorder = services.lifecycle.recorder
    notifications = recorder.select_notifications(start=1, limit=100_000)
    return [n.topic.rpartition(".")[2] for n in notifications]


def settle(services, timeout: float = 10.0) -> None:
    """Wait until the read models have processed every event recorded so far."""
    last = services.lifecycle.recorder.max_notification_id()
    if last:
        services.support_queue.wait("support_queue", last, timeout=timeout)
        services.portal.wait("portal", last, timeout=timeout)
        services.audit.wait("audit", last, timeout=timeout)
