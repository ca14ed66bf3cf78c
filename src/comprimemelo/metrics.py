"""Prometheus metrics of the web and worker processes.

gunicorn runs several web processes and ``serve`` adds a worker process, so
when ``PROMETHEUS_MULTIPROC_DIR`` is set (see ``metrics_dir``) every process writes its samples to files there and
a scrape adds them up. Figures that live in the database (tasks by status, the
embedded queue's backlog) are read at scrape time instead of being counted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from comprimemelo import metrics_dir

# Where each web app keeps its registry.
EXTENSION = "comprimemelo.metrics"
CONTENT_TYPE = CONTENT_TYPE_LATEST
log = logging.getLogger(__name__)

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "comprimemelo_http_requests_total",
    "HTTP requests answered, by route template (not raw path) and status.",
    ["method", "route", "status"],
    registry=None,
)
HTTP_SECONDS = Histogram(
    "comprimemelo_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120),
    registry=None,
)
TASKS_FINISHED = Counter(
    "comprimemelo_tasks_finished_total",
    "Tasks this worker finished, by archive format and final status.",
    ["format", "status"],
    registry=None,
)
TASK_SECONDS = Histogram(
    "comprimemelo_task_processing_seconds",
    "Time from claim to stored archive, per successful attempt, by format.",
    ["format"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600),
    registry=None,
)
TASK_INPUT_BYTES = Counter(
    "comprimemelo_task_input_bytes_total", "Original bytes compressed, by format.", ["format"], registry=None
)
TASK_OUTPUT_BYTES = Counter(
    "comprimemelo_task_output_bytes_total", "Archive bytes written, by format.", ["format"], registry=None
)
TASK_FAILURES = Counter(
    "comprimemelo_task_attempt_failures_total",
    "Failed attempts (retried or final), by reason.",
    ["reason"],
    registry=None,
)
TASKS_IN_PROGRESS = Gauge(
    "comprimemelo_worker_tasks_in_progress",
    "Tasks being compressed right now.",
    multiprocess_mode="livesum",
    registry=None,
)

ALL = (HTTP_REQUESTS, HTTP_SECONDS, TASKS_FINISHED, TASK_SECONDS, TASK_INPUT_BYTES, TASK_OUTPUT_BYTES,
       TASK_FAILURES, TASKS_IN_PROGRESS)


class StateCollector(Collector):
    """Tasks by status and the queue backlog, read at scrape time."""

    def __init__(self, task_counts: Callable[[], dict[str, int]], backlog: Callable[[], int | None]) -> None:
        self._task_counts = task_counts
        self._backlog = backlog

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            counts = self._task_counts()
        except Exception as error:  # a scrape must not fail with the database
            log.warning("metrics: cannot count tasks: %s", error)
        else:
            tasks = GaugeMetricFamily("comprimemelo_tasks", "Tasks in the database, by status.", labels=["status"])
            for status, count in sorted(counts.items()):
                tasks.add_metric([status], count)
            yield tasks
        try:
            backlog = self._backlog()
        except Exception as error:
            log.warning("metrics: cannot read the queue backlog: %s", error)
            backlog = None
        if backlog is not None:
            yield GaugeMetricFamily(
                "comprimemelo_queue_backlog", "Task messages waiting or in flight in the queue.", value=backlog
            )


def state_collector(sessions, queue) -> StateCollector:
    """A ``StateCollector`` over our database and queue (backlog only where the
    queue can tell: the embedded one; Pub/Sub's is Cloud Monitoring's
    ``subscription/num_undelivered_messages``)."""
    import sqlalchemy as sa

    from comprimemelo.domain.models import Task

    def task_counts() -> dict[str, int]:
        with sessions() as session:
            return dict(session.execute(sa.select(Task.status, sa.func.count()).group_by(Task.status)).all())

    return StateCollector(task_counts, getattr(queue, "backlog", lambda: None))


def registry(*collectors: Collector) -> CollectorRegistry:
    """What a scrape reports: the samples of every process sharing the
    metrics folder (or of this process and its resources, without one),
    plus ``collectors``."""
    result = CollectorRegistry()
    if metrics_dir.configured():
        multiprocess.MultiProcessCollector(result)
    else:
        ProcessCollector(registry=result)
        for metric in ALL:
            result.register(metric)
    for collector in collectors:
        result.register(collector)
    return result


def mark_process_dead(pid: int) -> None:
    if metrics_dir.configured():
        multiprocess.mark_process_dead(pid)
