"""The embedded data folder and database are readable by the service's user alone."""

from __future__ import annotations

import os
import stat

import sqlalchemy as sa

from comprimemelo import db
from comprimemelo.settings import load_settings
from tests.conftest import CHEAP_ARGON2


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_database_and_its_wal_files_are_private_whatever_the_umask(tmp_path):
    previous = os.umask(0o000)
    try:
        settings = load_settings({}, data_dir=tmp_path / "data", **CHEAP_ARGON2)
        engine = db.create_engine(settings)
        db.upgrade(engine, settings)
        with engine.begin() as connection:  # a write keeps the -wal and -shm files around
            connection.execute(sa.text("INSERT INTO revoked_tokens (jti, expires_at) VALUES ('x', '2030-01-01')"))
            data = tmp_path / "data"
            database = data / "comprimemelo.sqlite3"
            assert mode(data) == 0o700
            for path in (database, f"{database}-wal", f"{database}-shm", data / "secret_key"):
                assert mode(path) == 0o600, path
        engine.dispose()
    finally:
        os.umask(previous)


def test_an_older_installation_is_tightened_on_start(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    database = data / "comprimemelo.sqlite3"
    database.touch(mode=0o644)
    os.chmod(data, 0o755)
    os.chmod(database, 0o644)
    settings = load_settings({}, data_dir=data, **CHEAP_ARGON2)
    db.create_engine(settings).dispose()
    assert mode(data) == 0o700 and mode(database) == 0o600
