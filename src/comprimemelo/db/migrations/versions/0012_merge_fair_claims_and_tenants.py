"""Merge the two features built side by side on 0006 (fair claims; quotas,
verified e-mail, storage garbage) into one head.

Revision ID: 0012
Revises: 0007_fair_claims, 0011
"""

revision = "0012"
down_revision = ("0007_fair_claims", "0011")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
