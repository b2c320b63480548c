"""Our tables' schema, migrated by Alembic (adapters/migrations/versions/), on SQLite and
PostgreSQL, by every process's start-up under the schema lock and by `flask --app app db
upgrade`. The event store's own tables are the library's; read models are versioned by
projections/versions.py, not here.

Alembic runs on a SQLAlchemy connection of its own (NullPool: opened for the migration, closed
after it); the service itself never uses SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from eventsourcing.persistence import PersistenceError
from sqlalchemy import create_engine
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from adapters.database import Database, schema_lock
from adapters.settings import Settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@cache
def head() -> str:
    """The newest revision this code knows (read from the scripts once per process)."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    if revision is None:
        raise RuntimeError(f"no migration in {MIGRATIONS}")
    return revision


def current(database: Database) -> str | None:
    """The database's revision; None before the first migration."""
    try:
        rows = database.run("SELECT version_num FROM alembic_version")
    except PersistenceError:  # no such table yet (the library's error, on both engines)
        return None
    return rows[0]["version_num"] if rows else None


def sqlalchemy_url(settings: Settings) -> URL:
    db = settings.database
    if db.kind == "sqlite":
        return URL.create("sqlite", database=str(db.path))
    return URL.create(
        "postgresql+psycopg", username=db.user, password=db.password or None, host=db.host,
        port=db.port, database=db.dbname,
    )


def _run(settings: Settings, step: Callable[[Config], None]) -> None:
    engine = create_engine(sqlalchemy_url(settings), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            config = _config()
            config.attributes["connection"] = connection
            step(config)
    finally:
        engine.dispose()


def migrate(settings: Settings, database: Database) -> str | None:
    """Bring our tables to the newest revision; returns the revision the database was at.
    The caller holds the schema lock (adapters/database.py schema_lock)."""
    before = current(database)
    if before == head():
        return before  # the common case: a restart, nothing to do, no engine made
    _run(settings, lambda config: command.upgrade(config, "head"))
    return before


def downgrade(settings: Settings, revision: str) -> str | None:
    """Undo the migrations after `revision`, before starting the release that ends there;
    returns the revision the database is then at. Any process of this release started
    afterwards migrates it again."""
    with schema_lock(settings):
        _run(settings, lambda config: command.downgrade(config, revision))
        engine = create_engine(sqlalchemy_url(settings), poolclass=NullPool)
        try:
            with engine.connect() as connection:
                return MigrationContext.configure(connection).get_current_revision()
        finally:
            engine.dispose()
