"""Shared fixtures: every store-backed test runs on SQLite and on a fresh PostgreSQL database."""

from __future__ import annotations

import io
import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from adapters.logs import json_formatter
from adapters.settings import Settings
from tests.helpers import DEMO_CSV, PG_HOST, PG_PORT, PG_USER, REDIS_URL, FakeClock, make_settings


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


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


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
    # As a served embedded default is once its first request came (app.py): tests may stop
    # the projections before any request, and call the use cases without one.
    flask_app.extensions["accounts.background"].start()
    yield flask_app
    services.close()


@pytest.fixture
def services(app):
    return app.extensions["accounts"]


@pytest.fixture
def client(app):
    return app.test_client()


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
