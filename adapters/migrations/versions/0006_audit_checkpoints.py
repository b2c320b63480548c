"""Published audit checkpoints: each signed checkpoint of the audit tree the service publishes
(periodically, and at each `flask --app app audit checkpoint`), kept with its note, so that an
auditor who missed one can still have it, and ask for the consistency proof between any two.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One per tree size: the tree only grows, so a size names one root, and a second
    # publication of the same size would only repeat the first.
    op.execute(
        """CREATE TABLE IF NOT EXISTS audit_checkpoints (
            tree_size INTEGER PRIMARY KEY,
            root_hash TEXT NOT NULL,
            note TEXT NOT NULL,
            published_at TEXT NOT NULL
        )"""
    )


def downgrade() -> None:
    # The previous release neither writes nor reads it. The notes are signed and the auditors
    # keep their own copies; the tree itself is a read model, rebuilt from the log.
    op.execute("DROP TABLE audit_checkpoints")
