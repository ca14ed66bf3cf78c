"""Fair claims: a task's sealed archive password and retry backoff live on the
task, and two indexes keep the fair pick (``leases.claim_next``) a handful of
index seeks per waiting owner, however deep the backlog.

Columns are added and dropped with plain ``ALTER TABLE`` (SQLite 3.35+ drops
columns natively), never in batch mode: rebuilding ``tasks`` on SQLite would
drop the task-list triggers of 0006.

Revision ID: 0007_fair_claims
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_fair_claims"
down_revision = "0006"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_tasks_status_owner_id_id": ["status", "owner_id", "id"],
    "ix_tasks_owner_id_started_at": ["owner_id", "started_at"],
}


def upgrade() -> None:
    op.add_column("tasks", sa.Column("sealed_password", sa.Text, nullable=True))
    op.add_column("tasks", sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
    for name, columns in INDEXES.items():
        op.create_index(name, "tasks", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="tasks")
    op.drop_column("tasks", "not_before")
    op.drop_column("tasks", "sealed_password")
