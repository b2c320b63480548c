"""WebAuthn challenges (passkeys) between the options a page receives and the response it
posts back: single use, a few minutes long, kept as a digest only (adapters/webauthn_challenges.py).

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # account_id: the member a registration or re-authentication is for; empty for a sign-in,
    # where the passkey names its account.
    op.execute(
        """CREATE TABLE IF NOT EXISTS webauthn_challenges (
            digest TEXT PRIMARY KEY,
            purpose TEXT NOT NULL,
            account_id TEXT,
            expires_at TEXT NOT NULL
        )"""
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS webauthn_challenges_expiry ON webauthn_challenges (expires_at)"
    )


def downgrade() -> None:
    # The previous release neither writes nor reads it; a ceremony under way is lost, and the
    # member starts it again.
    op.execute("DROP TABLE webauthn_challenges")
