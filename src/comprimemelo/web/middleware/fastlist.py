"""The dashboard's poll, answered in front of Flask when the list is unchanged.

``GET /api/tasks`` is what the service serves most: every open dashboard asks
every few seconds, and almost always nothing changed. Answered from the list
cache (web/tasklists.py) the work left is one statement, yet Flask's request
machinery around it (contexts, routing, hooks, response objects) cost more
than twice the work itself: 210 µs a request in process, against 62 µs here
(metrics included; the access-log line comes on top of both), and about 30 µs
less since its statement runs on the driver connection.

This layer answers that one case only, with what the view uses: the same
credentials (Bearer header, else the session cookie), the same token check
and version read in one statement at a turn of the database gate
(db/turns.py), run on the pooled driver connection (db/driver_statement.py:
SQLAlchemy's Connection around it cost three times the statement; in a
gevent process on SQLite, on one connection the check keeps, without the
pool or the gate: 4,596 to 5,057 requests/s, two runs of one session), on
PostgreSQL for concurrent callers in one statement (db/batches.py: at 1000
connections the round trip per request was a third of a web process, and
throughput rose from 3,200 to 5,800 requests/s with batches), and the
list's one home (web/tasklists.py: its query, cache, entity tag, headers and
304), with the same metrics and access-log line.
Anything else goes to Flask untouched: another path or method, a query it
does not parse, credentials the check refuses, a list not in the cache at
the caller's version, an error. Flask answers those as it
always did, errors included, so their shape stays in one place.

A body is only ever taken from the cache under the user id of a token that
passed the check, and the cache only holds what the view built, so this layer
cannot answer anything the view would not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl

from flask import Flask
from werkzeug.http import parse_cookie

from comprimemelo.db import turns
from comprimemelo.db.batches import Batches, BatchFailed
from comprimemelo.db.driver_statement import DriverStatement, HeldSqliteStatement
from comprimemelo.domain.errors import ComprimemeloError, Unavailable
from comprimemelo.server.event_loop import threads_are_greenlets
from comprimemelo.services.tokens import CHECK_CALLER, CHECK_CALLERS, check_callers_by
from comprimemelo.web import context, tasklists
from comprimemelo.web.auth import SESSION_COOKIE, bearer_of
from comprimemelo.web.middleware.observability import REQUEST_ID_HEADER, default_headers, record, request_id_for
from comprimemelo.web.tasklists import ListBody

log = logging.getLogger(__name__)

LIST_PATH = tasklists.LIST_PATH
# The content type Flask's JSON provider gives the list (OrjsonProvider.mimetype).
JSON_TYPE = "application/json"
# Where the view's routing puts it (tests hold the two together).
LIST_ENDPOINT = "api_tasks.list_tasks"

# On PostgreSQL, callers checked in one statement at most (db/batches.py).
CHECK_BATCH = 64

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]


class ListFastPath:
    """WSGI middleware: cached task lists here, every other request to ``flask``."""

    def __init__(self, app: Flask, flask: WsgiApp) -> None:
        self.flask = flask  # what answers everything else
        self._tokens = app.extensions[context.TOKENS]
        engine = app.extensions[context.BACKENDS].engine
        self._lists: tasklists.TaskLists = app.extensions[tasklists.EXTENSION]
        self._gate = app.extensions[turns.EXTENSION]
        if engine.dialect.name == "postgresql":  # a round trip per statement: batches pay
            callers = Batches(self._checked_at_a_turn(check_callers_by(DriverStatement(engine, CHECK_CALLERS).all)),
                              CHECK_BATCH)
            self._check_caller = callers.one
        elif engine.dialect.name == "sqlite" and threads_are_greenlets():  # no pool, no gate: one connection
            self._check_caller = HeldSqliteStatement(engine, CHECK_CALLER).one
        else:
            self._check_caller = self._checked_at_a_turn(DriverStatement(engine, CHECK_CALLER).one)

    def _checked_at_a_turn(self, check: Callable) -> Callable:
        """``check``, run at a turn of the database gate (one per statement, batched or not)."""

        def at_a_turn(params):
            turns.enter(self._gate)
            try:
                return check(params)
            finally:
                self._gate.release()

        return at_a_turn

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO") == LIST_PATH:
            started = time.perf_counter()
            listed = self._cached_list(environ)
            if listed is not None:
                return self._answer(environ, start_response, listed, started)
        return self.flask(environ, start_response)

    def _cached_list(self, environ: dict) -> ListBody | None:
        """The caller's list as the view last built it, if still current; else None."""
        query = environ.get("QUERY_STRING", "")
        root = environ.get("SCRIPT_NAME", "")
        if not (query.isascii() and root.isascii()):  # werkzeug would decode them first
            return None
        try:
            args = dict(reversed(parse_qsl(query, keep_blank_values=True)))  # first value wins
            wanted = tasklists.parse_query(args.get)
        except (ComprimemeloError, ValueError):
            return None
        token = bearer_of(environ.get("HTTP_AUTHORIZATION", ""))
        if token is None:
            token = parse_cookie(environ.get("HTTP_COOKIE")).get(SESSION_COOKIE)
            if not token:
                return None
        try:
            caller = self._tokens.authenticate_by(token, self._check_caller)
        except (Unavailable, BatchFailed) as error:
            if isinstance(error, Unavailable) or isinstance(error.__cause__, Unavailable):
                environ[turns.WAITED] = True  # Flask answers 503 without a second wait
            return None
        except ComprimemeloError:  # refused: Flask says why
            return None
        except Exception:  # Flask tries again and answers any error in its shape
            log.debug("task-list fast path gave way to Flask", exc_info=True)
            return None
        return self._lists.lookup(caller.claims.user_id, wanted, root.rstrip("/"), caller.tasks_version)

    @staticmethod
    def _answer(environ: dict, start_response: Callable, listed: ListBody, started: float) -> Iterable[bytes]:
        request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
        status, list_headers = tasklists.answer(listed, environ.get("HTTP_IF_NONE_MATCH"))
        headers = [*list_headers.items(), (REQUEST_ID_HEADER, request_id)]
        secure = environ.get("wsgi.url_scheme") == "https"
        if status == 304:
            body = b""
            headers += default_headers(json=False, secure=secure)
            start_response("304 NOT MODIFIED", headers)
        else:
            body = listed.body
            headers += [("Content-Type", JSON_TYPE), ("Content-Length", str(len(body)))]
            headers += default_headers(json=True, secure=secure)
            start_response("200 OK", headers)
        record("GET", LIST_PATH, LIST_PATH, status, time.perf_counter() - started, request_id)
        return [body]
