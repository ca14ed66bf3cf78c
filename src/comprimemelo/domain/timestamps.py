"""The API's timestamps: RFC 3339 in UTC, always with microseconds, ``Z`` for the zone.

One format, written two ways: ``iso_utc`` from a Python datetime, and
``iso_utc_sql`` by the database itself, for lists. Parsing a column into a
datetime and formatting it again cost the task list a sixth of its time; the
database writes the same text for free. A test pins the two to each other on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


def iso_utc(value: dt.datetime | None) -> str | None:
    """``value`` (timezone-aware) as the API writes it; None stays None."""
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


class iso_utc_sql(FunctionElement):  # noqa: N801 - used like a SQL function
    """The column (a ``UTCDateTime``) as ``iso_utc`` would write it; NULL stays NULL."""

    type = sa.String()
    inherit_cache = True
    name = "iso_utc"


@compiles(iso_utc_sql, "sqlite")
def _sqlite(element, compiler, **kw):
    # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC
    # (models.UTCDateTime converts before writing).
    (column,) = element.clauses
    return f"replace({compiler.process(column, **kw)}, ' ', 'T') || 'Z'"


@compiles(iso_utc_sql, "postgresql")
def _postgresql(element, compiler, **kw):
    (column,) = element.clauses
    return (
        f"to_char({compiler.process(column, **kw)} AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    )
