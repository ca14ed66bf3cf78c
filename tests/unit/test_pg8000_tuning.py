"""The pg8000 shortcuts give exactly what pg8000 itself gives."""

import datetime as dt

import pg8000.converters
import pytest

from comprimemelo.db import pg8000_tuning
from comprimemelo.db.pg8000_tuning import RESULT_TYPE_CHANGED

QUERIES = [
    "SELECT a FROM t WHERE b = %s AND c = %s",
    "SELECT '%s is not a parameter', x FROM t WHERE y = %s",
    'SELECT "odd%s name" FROM t WHERE z IN (%s, %s) -- %s in a comment',
    "SELECT 1",
]


@pytest.mark.parametrize("query", QUERIES)
def test_cached_placeholder_rewriting_matches_pg8000(query):
    args = tuple(range(query.count("%s")))
    expected = pg8000_tuning._original_convert("format", query, args)
    assert pg8000_tuning.convert_paramstyle("format", query, args) == expected
    assert pg8000_tuning.convert_paramstyle("format", query, args) == expected  # from the cache


@pytest.mark.parametrize(
    "text",
    ["2026-11-29 14:23:10.123456+00", "2026-11-29 14:23:10+00", "2026-11-29 14:23:10.5+05:30", "1999-01-08 04:05:06-08"],
)
def test_timestamps_read_as_pg8000_reads_them(text):
    assert pg8000_tuning.timestamptz_in(text) == pg8000.converters.timestamptz_in(text)
    assert pg8000_tuning.timestamptz_in(text).utcoffset() is not None


@pytest.mark.parametrize("text", ["infinity", "-infinity"])
def test_what_python_cannot_hold_goes_to_pg8000s_parser(text):
    assert pg8000_tuning.timestamptz_in(text) == pg8000.converters.timestamptz_in(text)


def test_fast_parsing_is_real_on_a_connection(postgres_url):
    import sqlalchemy as sa

    from comprimemelo.bootstrap import open_backends
    from comprimemelo.settings import load_settings

    engine = open_backends(load_settings({}, database_url=postgres_url, secret_key="k" * 40)).engine
    with engine.connect() as connection:
        value = connection.execute(sa.text("SELECT TIMESTAMPTZ '2026-11-29 14:23:10.25+00'")).scalar_one()
        assert connection.connection.dbapi_connection.pg_types[pg8000.converters.TIMESTAMPTZ] is pg8000_tuning.timestamptz_in
    engine.dispose()
    assert value == dt.datetime(2026, 11, 29, 14, 23, 10, 250000, tzinfo=dt.timezone.utc)


@pytest.fixture
def pg_engine(postgres_url):
    from comprimemelo.bootstrap import open_backends
    from comprimemelo.settings import load_settings

    engine = open_backends(load_settings({}, database_url=postgres_url, secret_key="k" * 40)).engine
    yield engine
    engine.dispose()


def waits_per_statement(monkeypatch, run) -> list[int]:
    """How many times the client waited for the server (``handle_messages``) per statement."""
    import pg8000.core

    waits: dict[int, int] = {}  # per statement execution (its context)
    contexts = []  # kept alive, so no id is reused
    original = pg8000.core.CoreConnection.handle_messages

    def counted(self, context):
        contexts.append(context)
        waits[id(context)] = waits.get(id(context), 0) + 1
        return original(self, context)

    monkeypatch.setattr(pg8000.core.CoreConnection, "handle_messages", counted)
    run()
    return list(waits.values())


def test_a_statement_with_parameters_is_one_round_trip(pg_engine, monkeypatch):
    import sqlalchemy as sa

    results = {}

    def run():
        with pg_engine.connect() as connection:
            connection.execute(sa.text("CREATE TEMP TABLE t (id int PRIMARY KEY, name text)"))
            inserted = connection.execute(sa.text("INSERT INTO t VALUES (:a, :b), (:c, NULL)"), {"a": 1, "b": "x", "c": 2})
            results["inserted"] = inserted.rowcount
            results["rows"] = connection.execute(sa.text("SELECT id, name FROM t WHERE id >= :low ORDER BY id"),
                                                 {"low": 1}).all()
            results["none"] = connection.execute(sa.text("SELECT id FROM t WHERE id = :id"), {"id": 9}).all()

    assert set(waits_per_statement(monkeypatch, run)) == {1}
    assert results == {"inserted": 2, "rows": [(1, "x"), (2, None)], "none": []}


@pytest.mark.parametrize(
    ("statement", "params", "sqlstate"),
    [
        ("SELEC 1", {}, "42601"),  # fails at Parse
        ("SELECT CAST(:v AS int)", {"v": "not a number"}, "22P02"),  # fails at Bind
        ("INSERT INTO t VALUES (:id)", {"id": 1}, "23505"),  # fails at Execute
    ],
)
def test_an_error_at_any_step_is_raised_and_the_connection_stays_usable(pg_engine, statement, params, sqlstate):
    import sqlalchemy as sa
    from sqlalchemy.exc import DBAPIError

    with pg_engine.connect() as connection:
        connection.execute(sa.text("CREATE TEMP TABLE t (id int PRIMARY KEY)"))
        connection.execute(sa.text("INSERT INTO t VALUES (1)"))
        connection.commit()
        with pytest.raises(DBAPIError) as raised:
            connection.execute(sa.text(statement), params)
        assert sqlstate in str(raised.value.orig)
        connection.rollback()
        assert connection.execute(sa.text("SELECT count(*) FROM t WHERE id = :id"), {"id": 1}).scalar_one() == 1


def prepared_statements(connection) -> list[str]:
    import sqlalchemy as sa

    return connection.execute(sa.text("SELECT statement FROM pg_prepared_statements")).scalars().all()


def test_a_statement_run_again_is_prepared_and_answers_as_before(pg_engine, monkeypatch):
    import pg8000.core
    import sqlalchemy as sa

    query = "SELECT id, name FROM t WHERE id >= :low ORDER BY id"
    waits: list[str] = []  # the statement of each wait for the server
    original = pg8000.core.CoreConnection.handle_messages

    def counted(self, context):
        waits.append(context.statement)
        return original(self, context)

    monkeypatch.setattr(pg8000.core.CoreConnection, "handle_messages", counted)
    with pg_engine.connect() as connection:
        connection.execute(sa.text("CREATE TEMP TABLE t (id int PRIMARY KEY, name text)"))
        connection.execute(sa.text("INSERT INTO t VALUES (1, 'x'), (2, NULL)"))
        rows = [connection.execute(sa.text(query), {"low": low}).all() for low in (1, 2, 3, 1, None)]
        prepared = prepared_statements(connection)

    assert rows == [[(1, "x"), (2, None)], [(2, None)], [], [(1, "x"), (2, None)], []]
    assert any("WHERE id >=" in statement for statement in prepared)
    # Five runs, one wait each, and one more where the second run prepared the statement.
    assert sum("WHERE id >=" in statement for statement in waits) == 6


def test_a_prepared_statement_whose_table_changed_is_prepared_anew(pg_engine):
    import sqlalchemy as sa
    from sqlalchemy.exc import DBAPIError

    query = sa.text("SELECT * FROM t")
    with pg_engine.connect() as connection:
        connection.execute(sa.text("CREATE TEMP TABLE t (id int)"))
        connection.execute(sa.text("INSERT INTO t VALUES (1)"))
        assert [connection.execute(query).all() for _ in range(3)] == [[(1,)]] * 3
        connection.execute(sa.text("ALTER TABLE t ADD COLUMN name text DEFAULT 'n'"))
        connection.commit()
        try:  # PostgreSQL refuses the old plan's result type once, then the statement is prepared anew
            first = connection.execute(query).all()
        except DBAPIError as error:
            assert RESULT_TYPE_CHANGED in str(error.orig)
            connection.rollback()
            first = connection.execute(query).all()
        assert first == [(1, "n")]
        assert [connection.execute(query).all() for _ in range(3)] == [[(1, "n")]] * 3


def test_a_failed_statement_run_again_fails_the_same_way_and_the_connection_recovers(pg_engine):
    import sqlalchemy as sa
    from sqlalchemy.exc import DBAPIError

    insert = sa.text("INSERT INTO t VALUES (:id)")
    with pg_engine.connect() as connection:
        connection.execute(sa.text("CREATE TEMP TABLE t (id int PRIMARY KEY)"))
        connection.execute(insert, {"id": 1})
        connection.commit()
        for _ in range(3):  # unnamed, then prepared, then named
            with pytest.raises(DBAPIError, match="23505"):
                connection.execute(insert, {"id": 1})
            connection.rollback()
        connection.execute(insert, {"id": 2})
        assert connection.execute(sa.text("SELECT count(*) FROM t")).scalar_one() == 2
