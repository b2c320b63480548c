"""Alembic's entry for our migrations: run on the connection that adapters/schema.py hands in,
under the start-up lock, never from alembic.ini (the service has no such file)."""

from alembic import context

connection = context.config.attributes["connection"]
# One transaction per migration: a failing step leaves the database at the step before it.
context.configure(connection=connection, transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()
