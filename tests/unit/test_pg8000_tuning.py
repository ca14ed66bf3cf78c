"""The pg8000 shortcuts give exactly what pg8000 itself gives."""

import datetime as dt

import pg8000.converters
import pytest

from comprimemelo import pg8000_tuning

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

    from comprimemelo import db
    from comprimemelo.settings import load_settings

    engine = db.create_engine(load_settings({}, database_url=postgres_url, secret_key="k" * 40))
    with engine.connect() as connection:
        value = connection.execute(sa.text("SELECT TIMESTAMPTZ '2026-11-29 14:23:10.25+00'")).scalar_one()
        assert connection.connection.dbapi_connection.pg_types[pg8000.converters.TIMESTAMPTZ] is pg8000_tuning.timestamptz_in
    engine.dispose()
    assert value == dt.datetime(2026, 11, 29, 14, 23, 10, 250000, tzinfo=dt.timezone.utc)
