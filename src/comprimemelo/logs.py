"""Logging: one JSON object per line in production (Cloud Logging reads the
``severity`` and ``message`` fields), plain readable lines in embedded mode."""

from __future__ import annotations

import atexit
import contextvars
import copy
import json
import logging
import logging.handlers
import queue
import sys
import time
import unicodedata

from comprimemelo.server.event_loop import threads_are_greenlets
from comprimemelo.settings import Settings

# The task a worker thread is on: every line it logs carries the task id.
current_task_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("task_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Libraries whose INFO lines are noise for an operator.
QUIET_LOGGERS = ("alembic",)


class _SecondsFormatter(logging.Formatter):
    """A formatter that formats each second's timestamp once (``time.strftime``
    for every line was a tenth of an access line's cost)."""

    _second: tuple[int, str | None] | None = None
    _text = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = (int(record.created), datefmt)
        if second != self._second:
            self._text = time.strftime(datefmt or self.default_time_format, self.converter(second[0]))
            self._second = second
        return self._text if datefmt else self.default_msec_format % (self._text, record.msecs)


class JsonFormatter(_SecondsFormatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "severity": record.levelname,
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in ("request_id", "task_id", "method", "path", "status", "duration_ms"):
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        elif record.exc_text:  # rendered before crossing the queue
            entry["stack_trace"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


# Characters that break or disguise a line: controls (CR, LF, NEL...), the line
# and paragraph separators, and format characters (bidi overrides).
LINE_BREAKING_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def escape_controls(text: str) -> str:
    """``text`` with every line-breaking or invisible character written as an escape."""
    if text.isprintable():
        return text
    return "".join(
        ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) in LINE_BREAKING_CATEGORIES else ch
        for ch in text
    )


class TextFormatter(_SecondsFormatter):
    """One event, one line: a string a client chose (a path, a file name) cannot
    forge a second line; stack traces, which are ours, keep theirs."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape_controls(record.message)
        return super().formatMessage(record)


class ContextFilter(logging.Filter):
    """Adds the request id (inside a Flask request) and the task id (inside a
    worker's task thread) to records that do not carry them already."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "task_id") and (task_id := current_task_id.get()) is not None:
            record.task_id = task_id
        if not hasattr(record, "request_id"):
            request_id = _request_id()
            if request_id:
                record.request_id = request_id
        return True


def _request_id() -> str | None:
    try:
        from flask import g, has_request_context
    except ImportError:  # pragma: no cover - flask is a dependency
        return None
    return g.get("request_id") if has_request_context() else None


class _QueueHandler(logging.handlers.QueueHandler):
    """Hands records to the writer thread with their message and stack already
    rendered (their arguments may change or die once the request moves on)."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record = copy.copy(record)
        record.msg, record.args = record.getMessage(), None
        if record.exc_info:
            record.exc_text = _EXCEPTION_FORMATTER.formatException(record.exc_info)
            record.exc_info = None
        return record


_EXCEPTION_FORMATTER = logging.Formatter()
_listener: logging.handlers.QueueListener | None = None


def configure(settings: Settings, *, cooperative: bool | None = None) -> None:
    """Log to stderr.

    With OS threads (gthread workers, the worker process) lines are written
    by one writer thread and the others only enqueue: under load, waiting on
    the stream's lock cost a third of a request's time. In a gevent process
    (``cooperative``, detected by default) every "thread" is a greenlet of one
    OS thread, so nothing contends for the lock, and a writer greenlet only
    added a copy of each record and a switch to it: an eighth of the task
    list's throughput. There each line is written where it is logged.
    Request and task ids are attached in the thread that logs the line.
    """
    global _listener
    # No line shows the thread, the multiprocessing name or the source line a
    # record came from: not looked up for each (the logging HOWTO's
    # "Optimization"; findCaller and the thread's name were a fifth of an access
    # line's cost). The process id stays: gunicorn's own lines show it.
    logging.logThreads = logging.logMultiprocessing = False
    logging._srcfile = None
    handler = logging.StreamHandler(sys.stderr)
    if settings.effective_log_format == "json":
        formatter: logging.Formatter = JsonFormatter()
        formatter.converter = time.gmtime
    else:
        formatter = TextFormatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    if _listener is not None:
        _listener.stop()
        _listener = None
    if cooperative is None:
        cooperative = threads_are_greenlets()
    if cooperative:
        entry: logging.Handler = handler
    else:
        records: queue.SimpleQueue = queue.SimpleQueue()
        _listener = logging.handlers.QueueListener(records, handler)
        _listener.start()
        entry = _QueueHandler(records)
    entry.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [entry]
    root.setLevel(settings.log_level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


@atexit.register
def _flush() -> None:
    if _listener is not None:
        _listener.stop()  # writes what is still queued
