"""Baseline: our tables as release 4352541 (the last one without migrations) made them.

Each statement keeps IF NOT EXISTS: a database written by that release already has these
tables and is adopted as it stands; a new database gets them here. Read models are not here:
their tables belong to their version (projections/versions.py).

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = (
    # The insurer's member directory (adapters/directory.py).
    """CREATE TABLE IF NOT EXISTS directory_members (
        member_number TEXT PRIMARY KEY,
        last_name TEXT NOT NULL,
        first_name TEXT NOT NULL,
        birth_date TEXT NOT NULL,
        retirement TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS directory_coverages (
        member_number TEXT NOT NULL,
        contract_id TEXT NOT NULL,
        contract_type TEXT NOT NULL,
        role TEXT NOT NULL,
        principal_member_number TEXT,
        relation TEXT,
        PRIMARY KEY (member_number, contract_id)
    )""",
    "CREATE INDEX IF NOT EXISTS directory_coverages_principal"
    " ON directory_coverages (principal_member_number)",
    # Staff tokens, console and member sessions (adapters/sessions.py).
    """CREATE TABLE IF NOT EXISTS staff_tokens (
        token_digest TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        last_used_at TEXT,
        revoked_at TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS staff_tokens_name ON staff_tokens (name)",
    """CREATE TABLE IF NOT EXISTS console_sessions (
        session_digest TEXT PRIMARY KEY,
        token_digest TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS console_sessions_token ON console_sessions (token_digest)",
    """CREATE TABLE IF NOT EXISTS member_sessions (
        token_digest TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        identifier TEXT NOT NULL,
        temporary INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS member_sessions_account ON member_sessions (account_id)",
    # Per-member keys, and the links from streams and member numbers (adapters/keyring.py).
    """CREATE TABLE IF NOT EXISTS personal_keys (
        key_id TEXT PRIMARY KEY,
        subject TEXT NOT NULL UNIQUE,
        wrapped TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS stream_subjects (
        stream_id TEXT PRIMARY KEY,
        subject TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS member_subjects (
        lookup TEXT PRIMARY KEY,
        subject TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS member_subjects_subject ON member_subjects (subject)",
)


def upgrade() -> None:
    for statement in TABLES:
        op.execute(statement)


def downgrade() -> None:
    # Below the baseline is the release without migrations, which made these same tables.
    raise NotImplementedError("the baseline is the oldest schema: restore a backup instead")
