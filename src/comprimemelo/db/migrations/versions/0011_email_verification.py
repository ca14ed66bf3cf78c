"""E-mail addresses verified before mail goes to them; account mail in the outbox.

``users.email_verified_at``: when the address was proven (a signed link).
``notification_outbox.task_id`` may now be empty: account mail (verification
links, sign-up notices) is delivered by the same senders as task events.
Every existing address starts unverified.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as users:  # ADD COLUMN: no rebuild
        users.add_column(sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True))
    # No trigger names this table, so SQLite may rebuild it.
    with op.batch_alter_table("notification_outbox") as outbox:
        outbox.alter_column("task_id", existing_type=sa.Integer, nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM notification_outbox WHERE task_id IS NULL")
    with op.batch_alter_table("notification_outbox") as outbox:
        outbox.alter_column("task_id", existing_type=sa.Integer, nullable=False)
    op.execute("ALTER TABLE users DROP COLUMN email_verified_at")
