"""What keeps a running task's claim alive and visible: the heartbeat that
renews its leases, and the progress the dashboard polls."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from comprimemelo.queue import Delivery, QueueError
from comprimemelo.services import leases
from comprimemelo.worker.failures import LeaseLost, ShuttingDown

if TYPE_CHECKING:
    from comprimemelo.worker.loop import Worker

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_SECONDS = 1.0


class ProgressReporter:
    """Writes a task's percent done at most every ``PROGRESS_INTERVAL_SECONDS``
    (and at 100%): the UI polls it; a failed write only costs one update."""

    def __init__(self, worker: Worker, task_id: int) -> None:
        self._worker = worker
        self._task_id = task_id
        self._last_percent = 0
        self._last_write = 0.0

    def update(self, done: int, total: int) -> None:
        percent = 100 if total <= 0 else min(100, done * 100 // total)
        now = time.monotonic()
        if percent == self._last_percent or (percent < 100 and now - self._last_write < PROGRESS_INTERVAL_SECONDS):
            return
        try:
            with self._worker.sessions() as session:
                leases.report_progress(session, self._task_id, self._worker.id, percent)
        except SQLAlchemyError as error:
            log.warning("task %s: cannot record progress: %s", self._task_id, error)
            return
        self._last_percent, self._last_write = percent, now


class Heartbeat:
    """Renews the task and message leases every third of the lease length."""

    def __init__(self, worker: Worker, task_id: int, delivery: Delivery) -> None:
        self._worker = worker
        self._task_id = task_id
        self._delivery = delivery
        self._done = threading.Event()
        self._lost = False
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"lease-{task_id}")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def check(self) -> None:
        if self._lost:
            raise LeaseLost("the task lease was lost")
        if self._worker._abandon.is_set():
            raise ShuttingDown("the worker is shutting down")

    def _run(self) -> None:
        lease = self._worker.settings.lease_seconds
        while not self._done.wait(lease / 3):
            try:
                with self._worker.sessions() as session:
                    held = leases.renew(session, self._task_id, self._worker.id, lease_seconds=lease)
                self._delivery.extend(lease)
            except (SQLAlchemyError, QueueError) as error:
                log.warning("task %s: lease renewal failed: %s", self._task_id, error)
                continue
            if not held:
                self._lost = True
                return
