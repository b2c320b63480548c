"""Read models carry a version: the one serving, and the one being built beside it.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # building: the version whose tables (suffixed _v<N>) are being filled from position 0
    # while `live` serves; switched in, in one transaction, when it has caught up.
    op.execute(
        """CREATE TABLE read_model_versions (
            name TEXT PRIMARY KEY,
            live INTEGER NOT NULL,
            building INTEGER
        )"""
    )


def downgrade() -> None:
    # The previous release knows no versions: it serves whatever tables are live.
    op.execute("DROP TABLE read_model_versions")
