"""A statement run on the pooled driver connection answers what SQLAlchemy's
Connection answers, outside a transaction, and leaves the pool as it found it."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from comprimemelo import db
from comprimemelo.db.driver_statement import DriverStatement, HeldSqliteStatement
from comprimemelo.domain.models import RevokedToken, User
from comprimemelo.services.tokens import CHECK_CALLER, CHECK_CALLERS, check_callers_by
from tests.integration.test_postgres_pool_ping import backend_pid, terminate
from tests.statements import driver_statements


@pytest.fixture
def check(services) -> DriverStatement:
    return DriverStatement(services.engine, CHECK_CALLER)


def by_connection(services, params: dict) -> tuple:
    with services.engine.connect() as connection:
        return tuple(connection.execute(CHECK_CALLER, params).one())


def test_the_token_check_answers_as_through_a_connection(services, make_user, check):
    user = make_user()
    with services.engine.begin() as connection:
        connection.execute(sa.insert(RevokedToken).values(jti="gone", expires_at=dt.datetime(2099, 1, 1)))
    for params in ({"jti": "live", "user_id": user.id}, {"jti": "gone", "user_id": user.id},
                   {"jti": "live", "user_id": user.id + 1000}):
        assert check.one(params) == by_connection(services, params)
    assert check.one({"jti": "gone", "user_id": user.id})[0] == "gone"
    assert services.engine.pool.checkedout() == 0


def test_it_sends_one_statement_and_no_transaction(services, make_user, check):
    user = make_user()
    check.one({"jti": "x", "user_id": user.id})  # a second run: pg8000 may prepare it (db/pg8000_tuning.py)
    with driver_statements(services.engine) as statements:
        assert check.one({"jti": "x", "user_id": user.id})[1] is not None
    assert len(statements) == 1 and "BEGIN" not in statements[0].upper(), statements
    with services.engine.connect() as connection:  # the pool's next user gets an ordinary connection
        driver = connection.connection.driver_connection
        assert getattr(driver, "autocommit", False) is False


def test_a_statement_with_no_row_or_many_is_an_error_and_the_connection_goes_back(services, make_user):
    make_user("alice"), make_user("bob")
    names = DriverStatement(services.engine, sa.select(User.username).where(User.username.like(sa.bindparam("p"))))
    assert names.one({"p": "ali%"}) == ("alice",)
    with pytest.raises(sa.exc.NoResultFound):
        names.one({"p": "nobody"})
    with pytest.raises(sa.exc.MultipleResultsFound):
        names.one({"p": "%"})
    assert services.engine.pool.checkedout() == 0


def test_a_statement_that_needs_type_processing_is_refused(services):
    with pytest.raises(ValueError, match="type processing"):
        DriverStatement(services.engine, sa.select(RevokedToken.expires_at))  # a timezone-aware DateTime


def test_a_database_error_is_the_drivers_and_the_pool_recovers(services, make_user, check):
    user = make_user()
    broken = DriverStatement(services.engine, sa.select(sa.text("no_such_column")).select_from(User))
    with pytest.raises(services.engine.dialect.loaded_dbapi.Error):
        broken.one({})
    assert services.engine.pool.checkedout() == 0
    assert check.one({"jti": "x", "user_id": user.id})[1] is not None


@pytest.mark.postgres
def test_a_connection_that_died_is_invalidated_and_the_next_call_is_served(postgres_url, tmp_path, monkeypatch):
    from comprimemelo.settings import load_settings
    from tests.conftest import TEST_SECRET_KEY

    monkeypatch.setattr(db.engine, "PING_AFTER_IDLE_SECONDS", 60)  # no ping hides the death
    settings = load_settings({}, data_dir=tmp_path, database_url=postgres_url, secret_key=TEST_SECRET_KEY)
    migrating = db.create_engine(settings)
    db.upgrade(migrating, settings)
    migrating.dispose()
    engine = db.create_engine(settings.replace(db_pool_size=1, db_max_overflow=0))  # one connection: the dead one
    try:
        check = DriverStatement(engine, CHECK_CALLER)
        dead = backend_pid(engine)
        terminate(postgres_url, dead)
        with pytest.raises(Exception):
            check.one({"jti": "x", "user_id": 1})
        assert check.one({"jti": "x", "user_id": 1}) == (None, None)  # on a new connection
        assert backend_pid(engine) != dead
    finally:
        engine.dispose()


def test_an_engine_observed_at_the_cursor_sees_the_statement(services, make_user, check):
    """Statement counters (capacity bench-requests) and tracers listen to cursor events: they still count it."""
    user = make_user()
    seen = []

    def record(_connection, _cursor, statement, *_rest):
        seen.append(statement)

    sa.event.listen(services.engine, "before_cursor_execute", record)
    try:
        answer = check.one({"jti": "x", "user_id": user.id})
    finally:
        sa.event.remove(services.engine, "before_cursor_execute", record)
    assert answer == by_connection(services, {"jti": "x", "user_id": user.id})
    assert len(seen) == 1 and "revoked_tokens" in seen[0]


ON_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)


@ON_POSTGRES
def test_many_callers_checked_in_one_statement_get_what_each_check_alone_gets(services, make_user):
    """The fast path's batches on PostgreSQL (db/batches.py): one row per caller, in the callers' order."""
    alice, bob = make_user("alice"), make_user("bob")
    with services.engine.begin() as connection:
        connection.execute(sa.insert(RevokedToken).values(jti="gone", expires_at=dt.datetime(2099, 1, 1)))
    callers = [{"jti": "live", "user_id": bob.id}, {"jti": "gone", "user_id": alice.id},
               {"jti": "live", "user_id": alice.id + 1000}, {"jti": "o'\"{,}\\", "user_id": alice.id},
               {"jti": "live", "user_id": bob.id}]
    check = check_callers_by(DriverStatement(services.engine, CHECK_CALLERS).all)
    check(callers)  # a second run: pg8000 may prepare it
    with driver_statements(services.engine) as statements:
        rows = check(callers)
    assert rows == [by_connection(services, params) for params in callers]
    assert len(statements) == 1 and "BEGIN" not in statements[0].upper(), statements
    assert check(callers[:1]) == [by_connection(services, callers[0])]
    assert services.engine.pool.checkedout() == 0


@ON_POSTGRES
def test_an_observed_engine_sees_the_batched_check_too(services, make_user):
    user = make_user()
    seen = []

    def record(_connection, _cursor, statement, *_rest):
        seen.append(statement)

    check = check_callers_by(DriverStatement(services.engine, CHECK_CALLERS).all)
    callers = [{"jti": "x", "user_id": user.id}, {"jti": "y", "user_id": user.id + 1}]
    sa.event.listen(services.engine, "before_cursor_execute", record)
    try:
        rows = check(callers)
    finally:
        sa.event.remove(services.engine, "before_cursor_execute", record)
    assert rows == [by_connection(services, params) for params in callers]
    assert len(seen) == 1 and "unnest" in seen[0]


ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # a held connection is SQLite's


@ON_SQLITE
def test_a_held_sqlite_check_sees_a_revocation_committed_elsewhere_at_once(services, make_user):
    user = make_user()
    held = HeldSqliteStatement(services.engine, CHECK_CALLER)
    params = {"jti": "soon-gone", "user_id": user.id}
    assert held.one(params) == by_connection(services, params) and held.one(params)[0] is None
    assert services.engine.pool.checkedout() == 1  # the one it keeps
    with services.engine.begin() as connection:
        connection.execute(sa.insert(RevokedToken).values(jti="soon-gone", expires_at=dt.datetime(2099, 1, 1)))
    assert held.one(params)[0] == "soon-gone"
    assert services.engine.pool.checkedout() == 1


@ON_SQLITE
def test_a_held_connection_that_was_invalidated_is_replaced(services, make_user):
    user = make_user()
    held = HeldSqliteStatement(services.engine, CHECK_CALLER)
    params = {"jti": "x", "user_id": user.id}
    first = held.one(params)
    held._held.invalidate()  # as an error the dialect calls a disconnect would
    assert held.one(params) == first
    assert services.engine.pool.checkedout() == 1


def test_a_held_connection_is_only_for_sqlite():
    engine = sa.create_engine("postgresql+pg8000://nobody@127.0.0.1:1/none")  # never connects
    with pytest.raises(ValueError, match="SQLite"):
        HeldSqliteStatement(engine, CHECK_CALLER)
