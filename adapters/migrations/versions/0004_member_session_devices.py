"""Member sessions as their member lists them: a public id, the device's User-Agent, and when
the member last proved who they are in the session.

The previous release keeps inserting rows without these columns during a rolling restart, so
they are nullable: this release gives such a row its id and its instant when it next sees it
(adapters/sessions.py).

Revision ID: 0004
Revises: 0003
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database whose migrations were never recorded (the release before them) is adopted
    # by running every one over tables that may already have what it adds.
    bind = op.get_bind()
    present = {c["name"] for c in sa.inspect(bind).get_columns("member_sessions")}
    for column in ("session_id", "user_agent", "authenticated_at"):
        if column not in present:
            op.execute(f"ALTER TABLE member_sessions ADD COLUMN {column} TEXT")
    # Drawn here rather than by the engine, so that both engines draw them the same way, from
    # a cryptographic source, unrelated to the token. Only live sessions are in the table.
    digests = bind.execute(sa.text(
        "SELECT token_digest FROM member_sessions WHERE session_id IS NULL"
    )).scalars().all()
    for digest in digests:
        bind.execute(
            sa.text("UPDATE member_sessions SET session_id = :id WHERE token_digest = :digest"),
            {"id": secrets.token_urlsafe(16), "digest": digest},
        )
    op.execute(
        "UPDATE member_sessions SET authenticated_at = created_at WHERE authenticated_at IS NULL"
    )
    op.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS member_sessions_session_id"
        " ON member_sessions (session_id)"
    )


def downgrade() -> None:
    # The previous release reads none of them.
    op.execute("DROP INDEX member_sessions_session_id")
    for column in ("authenticated_at", "user_agent", "session_id"):
        op.execute(f"ALTER TABLE member_sessions DROP COLUMN {column}")
