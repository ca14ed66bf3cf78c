"""Objects to delete from storage, recorded with the rows' deletion.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "storage_garbage",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("storage_key", sa.String(512), nullable=False),
        sa.Column("upload_url", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_storage_garbage_created_at", "storage_garbage", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_storage_garbage_created_at", table_name="storage_garbage")
    op.drop_table("storage_garbage")
