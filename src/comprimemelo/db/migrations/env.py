"""Alembic environment: runs on the connection the caller hands over (``db.upgrade``)."""

from alembic import context

from comprimemelo.domain.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via ``comprimemelo db upgrade``
    raise RuntimeError("run migrations with `comprimemelo db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
