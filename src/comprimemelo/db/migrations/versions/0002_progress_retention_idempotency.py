"""Task progress, expiry and encryption flag; idempotency keys.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("tasks") as tasks:
        tasks.add_column(sa.Column("progress", sa.Integer, nullable=True))
        tasks.add_column(sa.Column("expires_at", TIMESTAMP, nullable=True))
        tasks.add_column(sa.Column("encrypted", sa.Boolean, nullable=False, server_default=sa.false()))
        tasks.create_index("ix_tasks_expires_at", ["expires_at"])
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("response", sa.Text, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.UniqueConstraint("owner_id", "endpoint", "key", name="uq_idempotency_keys_owner_endpoint_key"),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    with op.batch_alter_table("tasks") as tasks:
        tasks.drop_index("ix_tasks_expires_at")
        for column in ("encrypted", "expires_at", "progress"):
            tasks.drop_column(column)
