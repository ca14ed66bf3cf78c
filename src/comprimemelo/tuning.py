"""Performance tuning that reaches into a library, in one place, behind one switch.

Each tuning below was measured on the library versions it names, and changes
how that library behaves (a function of pg8000 replaced, gunicorn's server
class swapped, werkzeug's multipart reads enlarged, Flask's request machinery
skipped for the dashboard's poll, Flask's JSON encoding replaced). It is
installed by the composition root only (``bootstrap``), and only on the
versions it was measured on: on any other it is skipped with a warning, and
the plain path runs, which every test also runs (``COMPRIMEMELO_TUNING=off``,
in CI). Nothing here changes what the service answers, only how fast.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from importlib import metadata

from comprimemelo.settings import Settings

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Tuning:
    name: str
    package: str  # the distribution whose behaviour it changes
    measured_on: tuple[str, ...]  # version prefixes: "1.31" is 1.31.x
    report: str  # where the gain is measured

    def __str__(self) -> str:
        return self.name


PG8000_ROUND_TRIPS = Tuning(
    "pg8000: one round trip per statement, cached placeholder rewriting, fast timestamps",
    "pg8000", ("1.31",), "capacity/reports/api-postgres",
)
GUNICORN_GEVENT_ACCEPT = Tuning(
    "gunicorn gevent worker: up to 16 connections accepted per turn, keep-alive connections taking turns, "
    "body reads of werkzeug's size",
    "gunicorn", ("23.", "27."), "capacity/reports/api, capacity/reports/api-tail, capacity/reports/upload",
)
WERKZEUG_LARGE_MULTIPART_READS = Tuning(
    "werkzeug: multipart bodies parsed in 256 KiB reads", "werkzeug", ("3.1",), "capacity/reports/upload",
)
FLASK_LIST_FAST_PATH = Tuning(
    "flask: an unchanged task list answered in front of Flask", "flask", ("3.1",), "capacity/reports/api",
)
FLASK_ORJSON_RESPONSES = Tuning(
    "flask: JSON responses encoded by orjson", "flask", ("3.1",), "capacity/reports/api",
)
ALL = (PG8000_ROUND_TRIPS, GUNICORN_GEVENT_ACCEPT, WERKZEUG_LARGE_MULTIPART_READS, FLASK_LIST_FAST_PATH,
       FLASK_ORJSON_RESPONSES)


def enabled(settings: Settings, tuning: Tuning) -> bool:
    """Whether ``tuning`` applies: the switch is on and the library is a measured version."""
    return settings.tuning == "on" and _measured(tuning)


@functools.cache
def _measured(tuning: Tuning) -> bool:
    try:
        version = metadata.version(tuning.package)
    except metadata.PackageNotFoundError:
        return False
    if version.startswith(tuning.measured_on):
        return True
    log.warning("tuning skipped: %s was measured on %s %s, this is %s (%s)", tuning.name, tuning.package,
                " or ".join(tuning.measured_on), version, tuning.report)
    return False


def install_pg8000(engine) -> None:
    """The pg8000 tuning, on an engine whose driver is pg8000 (the rest have none)."""
    from sqlalchemy import event

    from comprimemelo.db import pg8000_tuning

    pg8000_tuning.install()

    @event.listens_for(engine, "connect")
    def _tune(dbapi_connection, _record) -> None:
        pg8000_tuning.tune_connection(dbapi_connection)
