"""Per-user usage, kept by the database itself, for quotas.

``users.stored_bytes`` (originals and archives still kept, plus the declared
size of unfinished upload sessions), ``users.live_tasks`` (queued or
processing) and ``users.open_uploads`` (upload sessions not yet a task's) are
kept by triggers on ``tasks`` and ``upload_sessions``, like ``tasks_version``
(0006): every writer keeps them true. ``users.quota_window_started_at`` and
``users.tasks_in_window`` count tasks per hour and are the app's to write.
A later migration that rebuilds ``tasks`` or ``upload_sessions`` on SQLite
must create these triggers again (``tests/integration/test_quotas.py`` fails
if it does not).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_TASK_BYTES = "(CASE WHEN {row}.status = 'expired' THEN 0 ELSE {row}.size_original + COALESCE({row}.size_compressed, 0) END)"
_TASK_LIVE = "(CASE WHEN {row}.status IN ('uploaded', 'processing') THEN 1 ELSE 0 END)"
_UPLOAD_BYTES = "(CASE WHEN {row}.state = 'submitted' THEN 0 ELSE {row}.size END)"
_UPLOAD_OPEN = "(CASE WHEN {row}.state = 'submitted' THEN 0 ELSE 1 END)"


def _task_change(sign: str, row: str) -> str:
    return (f"UPDATE users SET stored_bytes = stored_bytes {sign} {_TASK_BYTES.format(row=row)}, "
            f"live_tasks = live_tasks {sign} {_TASK_LIVE.format(row=row)} WHERE id = {row}.owner_id")


def _task_update() -> str:
    return (f"UPDATE users SET stored_bytes = stored_bytes + {_TASK_BYTES.format(row='NEW')} "
            f"- {_TASK_BYTES.format(row='OLD')}, live_tasks = live_tasks + {_TASK_LIVE.format(row='NEW')} "
            f"- {_TASK_LIVE.format(row='OLD')} WHERE id = NEW.owner_id")


def _upload_change(sign: str, row: str) -> str:
    return (f"UPDATE users SET stored_bytes = stored_bytes {sign} {_UPLOAD_BYTES.format(row=row)}, "
            f"open_uploads = open_uploads {sign} {_UPLOAD_OPEN.format(row=row)} WHERE id = {row}.owner_id")


def _upload_update() -> str:
    return (f"UPDATE users SET stored_bytes = stored_bytes + {_UPLOAD_BYTES.format(row='NEW')} "
            f"- {_UPLOAD_BYTES.format(row='OLD')}, open_uploads = open_uploads + {_UPLOAD_OPEN.format(row='NEW')} "
            f"- {_UPLOAD_OPEN.format(row='OLD')} WHERE id = NEW.owner_id")


def _sqlite_triggers() -> list[str]:
    return [
        f"CREATE TRIGGER usage_tasks_insert AFTER INSERT ON tasks BEGIN {_task_change('+', 'NEW')}; END",
        f"CREATE TRIGGER usage_tasks_delete AFTER DELETE ON tasks BEGIN {_task_change('-', 'OLD')}; END",
        "CREATE TRIGGER usage_tasks_update AFTER UPDATE OF status, size_original, size_compressed ON tasks "
        f"BEGIN {_task_update()}; END",
        f"CREATE TRIGGER usage_uploads_insert AFTER INSERT ON upload_sessions BEGIN {_upload_change('+', 'NEW')}; END",
        f"CREATE TRIGGER usage_uploads_delete AFTER DELETE ON upload_sessions BEGIN {_upload_change('-', 'OLD')}; END",
        f"CREATE TRIGGER usage_uploads_update AFTER UPDATE OF state, size ON upload_sessions BEGIN {_upload_update()}; END",
    ]


def _postgresql_triggers() -> list[str]:
    def function(name: str, insert: str, delete: str, update: str) -> str:
        return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {insert};
    ELSIF TG_OP = 'DELETE' THEN
        {delete};
    ELSE
        {update};
    END IF;
    RETURN NULL;
END
$$"""

    return [
        function("usage_of_tasks", _task_change("+", "NEW"), _task_change("-", "OLD"), _task_update()),
        function("usage_of_uploads", _upload_change("+", "NEW"), _upload_change("-", "OLD"), _upload_update()),
        "CREATE TRIGGER usage_tasks AFTER INSERT OR DELETE OR UPDATE OF status, size_original, size_compressed "
        "ON tasks FOR EACH ROW EXECUTE FUNCTION usage_of_tasks()",
        "CREATE TRIGGER usage_uploads AFTER INSERT OR DELETE OR UPDATE OF state, size "
        "ON upload_sessions FOR EACH ROW EXECUTE FUNCTION usage_of_uploads()",
    ]


_BACKFILL = f"""
UPDATE users SET
    stored_bytes = COALESCE((SELECT SUM({_TASK_BYTES.format(row='tasks')}) FROM tasks WHERE tasks.owner_id = users.id), 0)
        + COALESCE((SELECT SUM({_UPLOAD_BYTES.format(row='upload_sessions')}) FROM upload_sessions
                    WHERE upload_sessions.owner_id = users.id), 0),
    live_tasks = COALESCE((SELECT SUM({_TASK_LIVE.format(row='tasks')}) FROM tasks WHERE tasks.owner_id = users.id), 0),
    open_uploads = COALESCE((SELECT SUM({_UPLOAD_OPEN.format(row='upload_sessions')}) FROM upload_sessions
                             WHERE upload_sessions.owner_id = users.id), 0)
"""


def upgrade() -> None:
    with op.batch_alter_table("users") as users:
        users.add_column(sa.Column("stored_bytes", sa.BigInteger, nullable=False, server_default="0"))
        users.add_column(sa.Column("live_tasks", sa.Integer, nullable=False, server_default="0"))
        users.add_column(sa.Column("open_uploads", sa.Integer, nullable=False, server_default="0"))
        users.add_column(sa.Column("quota_window_started_at", sa.DateTime(timezone=True), nullable=True))
        users.add_column(sa.Column("tasks_in_window", sa.Integer, nullable=False, server_default="0"))
    op.execute(_BACKFILL)
    dialect = op.get_bind().dialect.name
    for statement in _postgresql_triggers() if dialect == "postgresql" else _sqlite_triggers():
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER usage_uploads ON upload_sessions")
        op.execute("DROP TRIGGER usage_tasks ON tasks")
        op.execute("DROP FUNCTION usage_of_uploads()")
        op.execute("DROP FUNCTION usage_of_tasks()")
    else:
        for name in ("tasks_insert", "tasks_delete", "tasks_update", "uploads_insert", "uploads_delete",
                     "uploads_update"):
            op.execute(f"DROP TRIGGER usage_{name}")
    # A plain DROP COLUMN (SQLite 3.35+): batch mode would rebuild ``users``,
    # which 0006's triggers on ``tasks`` name, and SQLite refuses that.
    for column in ("tasks_in_window", "quota_window_started_at", "open_uploads", "live_tasks", "stored_bytes"):
        op.execute(f"ALTER TABLE users DROP COLUMN {column}")
