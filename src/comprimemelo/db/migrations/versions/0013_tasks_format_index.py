"""Index tasks by owner, format and id: a list of one format
(``GET /api/tasks?format=``) reads its page from the index, after the
cursor's id, instead of every task of the owner.

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tasks_owner_id_new_format_id", "tasks", ["owner_id", "new_format", "id"])


def downgrade() -> None:
    op.drop_index("ix_tasks_owner_id_new_format_id", table_name="tasks")
