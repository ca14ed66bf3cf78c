"""A per-user version of the task list, kept by the database itself.

Triggers add one to ``users.tasks_version`` whenever a task of the user is
created or deleted, a column the list shows changes, or a task's files change,
so a web process may answer ``GET /api/tasks`` from what it built before for
the same version (``web.tasklists``). Triggers, not application code: every
writer (web, worker, sweeps, a person at psql) keeps the version true.
A later migration that rebuilds ``tasks`` or ``task_files`` on SQLite (batch
mode copies the table) drops their triggers and must create them again;
``tests/integration/test_task_list_version.py`` fails if it does not.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The task columns ``tasks.TaskView`` lists (tests pin the two together).
LISTED_COLUMNS = (
    "new_format", "level", "status", "size_original", "size_compressed", "created_at",
    "processed_at", "attempts", "error", "progress", "encrypted", "expires_at",
)
_BUMP = "UPDATE users SET tasks_version = tasks_version + 1 WHERE id = {owner}"
_FILE_OWNER = "(SELECT owner_id FROM tasks WHERE id = {row}.task_id)"


def _changed(distinct: str) -> str:
    return " OR ".join(f"OLD.{column} {distinct} NEW.{column}" for column in LISTED_COLUMNS)


def _sqlite_triggers() -> list[str]:
    return [
        f"CREATE TRIGGER tasks_version_insert AFTER INSERT ON tasks BEGIN "
        f"{_BUMP.format(owner='NEW.owner_id')}; END",
        f"CREATE TRIGGER tasks_version_delete AFTER DELETE ON tasks BEGIN "
        f"{_BUMP.format(owner='OLD.owner_id')}; END",
        f"CREATE TRIGGER tasks_version_update AFTER UPDATE ON tasks WHEN {_changed('IS NOT')} BEGIN "
        f"{_BUMP.format(owner='NEW.owner_id')}; END",
        f"CREATE TRIGGER tasks_version_files_insert AFTER INSERT ON task_files BEGIN "
        f"{_BUMP.format(owner=_FILE_OWNER.format(row='NEW'))}; END",
        f"CREATE TRIGGER tasks_version_files_update AFTER UPDATE ON task_files BEGIN "
        f"{_BUMP.format(owner=_FILE_OWNER.format(row='NEW'))}; END",
        f"CREATE TRIGGER tasks_version_files_delete AFTER DELETE ON task_files BEGIN "
        f"{_BUMP.format(owner=_FILE_OWNER.format(row='OLD'))}; END",
    ]


def _postgresql_triggers() -> list[str]:
    function = """
CREATE FUNCTION bump_tasks_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_owner integer;
BEGIN
    IF TG_TABLE_NAME = 'tasks' THEN
        row_owner := CASE WHEN TG_OP = 'DELETE' THEN OLD.owner_id ELSE NEW.owner_id END;
    ELSE
        SELECT owner_id INTO row_owner FROM tasks
        WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.task_id ELSE NEW.task_id END;
    END IF;
    UPDATE users SET tasks_version = tasks_version + 1 WHERE id = row_owner;
    RETURN NULL;
END
$$"""
    run = "FOR EACH ROW EXECUTE FUNCTION bump_tasks_version()"
    return [
        function,
        f"CREATE TRIGGER tasks_version_insert_delete AFTER INSERT OR DELETE ON tasks {run}",
        f"CREATE TRIGGER tasks_version_update AFTER UPDATE ON tasks FOR EACH ROW "
        f"WHEN ({_changed('IS DISTINCT FROM')}) EXECUTE FUNCTION bump_tasks_version()",
        f"CREATE TRIGGER tasks_version_files AFTER INSERT OR UPDATE OR DELETE ON task_files {run}",
    ]


def upgrade() -> None:
    with op.batch_alter_table("users") as users:
        users.add_column(sa.Column("tasks_version", sa.BigInteger, nullable=False, server_default="0"))
    dialect = op.get_bind().dialect.name
    for statement in _postgresql_triggers() if dialect == "postgresql" else _sqlite_triggers():
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER tasks_version_files ON task_files")
        op.execute("DROP TRIGGER tasks_version_update ON tasks")
        op.execute("DROP TRIGGER tasks_version_insert_delete ON tasks")
        op.execute("DROP FUNCTION bump_tasks_version()")
    else:
        for name in ("insert", "delete", "update", "files_insert", "files_update", "files_delete"):
            op.execute(f"DROP TRIGGER tasks_version_{name}")
    with op.batch_alter_table("users") as users:
        users.drop_column("tasks_version")
