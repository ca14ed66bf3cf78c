"""Index task files by name: ``GET /api/files/<name>`` is one indexed lookup,
not a query per task of the caller.

Revision ID: 0008
Revises: 0006
"""

from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_task_files_filename", "task_files", ["filename"])


def downgrade() -> None:
    op.drop_index("ix_task_files_filename", table_name="task_files")
