"""The migrations build exactly the schema the models describe, and go back down."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from comprimemelo import db
from comprimemelo.domain.models import Base


def _differences(engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        return compare_metadata(context, Base.metadata)


def test_migrated_schema_matches_the_models(settings):
    engine = db.create_engine(settings)
    try:
        db.upgrade(engine, settings)
        assert _differences(engine) == []
    finally:
        engine.dispose()


def test_every_migration_downgrades_to_an_empty_database(settings):
    engine = db.create_engine(settings)
    try:
        db.upgrade(engine, settings)
        db.downgrade(engine, settings, "base")
        tables = set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        db.upgrade(engine, settings)  # and up again
        assert _differences(engine) == []
    finally:
        engine.dispose()
