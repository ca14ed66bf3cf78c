"""The comprimemelo command: help on every command, db upgrade, bad settings."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa

from tests.processes import process_environment


def run(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "comprimemelo", *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.parametrize("command", [[], ["serve"], ["web"], ["worker"], ["db", "upgrade"], ["compress"]])
def test_every_command_has_help(command):
    result = run(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: comprimemelo" in result.stdout


def test_db_upgrade_creates_the_schema_and_is_idempotent(tmp_path, database_url):
    env = process_environment(tmp_path / "data", COMPRIMEMELO_DATABASE_URL=database_url)
    for _ in range(2):
        result = run("db", "upgrade", env=env)
        assert result.returncode == 0, result.stderr
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
        versions = set(connection.scalars(sa.text("SELECT version_num FROM alembic_version")))
    engine.dispose()
    assert {"users", "tasks", "task_files", "revoked_tokens", "queue_messages"} <= tables
    assert versions == migration_heads()


def migration_heads() -> set[str]:
    from alembic.script import ScriptDirectory

    from comprimemelo.db.migrate import MIGRATIONS_DIR

    return set(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())


def test_a_bad_setting_is_a_clear_error_not_a_traceback(tmp_path):
    env = process_environment(tmp_path / "data", COMPRIMEMELO_PORT="eighty")
    result = run("db", "upgrade", env=env)
    assert result.returncode == 2
    assert "COMPRIMEMELO_PORT" in result.stderr and "Traceback" not in result.stderr


def test_production_mode_refuses_to_start_without_a_strong_secret(tmp_path):
    env = process_environment(tmp_path / "data", COMPRIMEMELO_MODE="production", COMPRIMEMELO_SECRET_KEY="weak")
    result = run("web", env=env)
    assert result.returncode == 2
    assert "SECRET_KEY" in result.stderr
